-- Token numbers at rest (issue 16, point 7; PCI DSS 3.5, EMVCo tokenisation: a payment token is kept as
-- a card number is). The messages the acquirer keeps to answer and reverse with (authorizations.forwarded
-- and .response, reversals.message, refunds.message) carry DE 2; from now on each is stored AES-256-GCM
-- under a data key of this table (src/infra/keys/envelope.ts, wrapped by the KEK), bound to its row.
-- A sealed value starts with byte 0x01; a message stored before starts with its ASCII MTI ('0', 0x30)
-- and is still read as it is (src/acquirer/message-vault.ts).
CREATE TABLE acquirer.data_keys (
  id text PRIMARY KEY CHECK (id LIKE 'dk\_%'),
  kek_id text NOT NULL,
  wrapped bytea NOT NULL,
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX data_keys_one_active ON acquirer.data_keys (active) WHERE active;
