import { Type } from 'typebox';
import { Timestamp } from '../infra/http/schemas.js';

export const UserSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('user'),
  email: Type.String(),
  name: Type.String(),
  created_at: Timestamp,
});

export const SessionSchema = Type.Object({
  id: Type.String(),
  token: Type.String({ description: 'Bearer secret for the wallet API; shown once.' }),
  expires_at: Timestamp,
  device_id: Type.Union([Type.String(), Type.Null()]),
});

export const Email = Type.String({ format: 'email', minLength: 3, maxLength: 254 });
export const Password = Type.String({ minLength: 10, maxLength: 200 });
