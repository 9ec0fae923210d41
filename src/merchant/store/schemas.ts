import { Type } from 'typebox';
import { Timestamp } from '../../infra/http/schemas.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()]);

export const ProductSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.String(),
  price: Type.Integer({ description: 'Minor units.' }),
  priceDecimal: Type.String({ description: 'The price as a decimal string, as Apple Pay line items take it.' }),
  currency: Type.String(),
  image: Type.String(),
});

const OrderItemSchema = Type.Object({
  productId: Type.String(),
  name: Type.String(),
  quantity: Type.Integer(),
  unitPrice: Type.Integer({ description: 'Minor units.' }),
});

const PaymentSummarySchema = Type.Object({
  deviceToken: Type.String({ description: 'The device account number, first six and last four digits only.' }),
  applicationExpirationDate: Type.String(),
  paymentDataType: Type.String(),
  onlinePaymentCryptogram: Nullable(Type.String()),
  eciIndicator: Nullable(Type.String()),
  transactionAmount: Type.Integer(),
  currencyCode: Type.String(),
  transactionId: Type.String(),
  paymentMethod: Type.Object({ displayName: Type.String(), network: Type.String(), type: Type.String() }),
});

const PaymentSchema = Type.Object({
  id: Type.String(),
  attempt: Type.Integer(),
  status: Type.Union([Type.Literal('authorizing'), Type.Literal('approved'), Type.Literal('declined')]),
  transactionId: Type.String(),
  acquirerAuthorizationId: Nullable(Type.String()),
  responseCode: Nullable(Type.String()),
  authCode: Nullable(Type.String()),
  declineReason: Nullable(Type.String()),
  decrypted: PaymentSummarySchema,
  createdAt: Timestamp,
  completedAt: Nullable(Timestamp),
});

export const OrderSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('order'),
  status: Type.Union([Type.Literal('pending'), Type.Literal('authorizing'), Type.Literal('paid'), Type.Literal('declined')]),
  items: Type.Array(OrderItemSchema),
  total: Type.Integer({ description: 'Minor units.' }),
  totalDecimal: Type.String(),
  currency: Type.String(),
  applicationData: Type.String({ description: 'base64 of the order id: the payment request\'s applicationData.' }),
  payment: Nullable(PaymentSchema),
  attempts: Type.Integer(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});

export const OrderParams = Type.Object({ id: Type.String({ pattern: '^ord_[0-9A-Za-z]{25}$' }) });
