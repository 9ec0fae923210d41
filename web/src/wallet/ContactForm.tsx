import { useState } from 'react';
import type { WalletContact } from './contacts';

/** The sheet's "add a contact" form: a person's name, e-mail, phone and postal address, kept by the wallet. */
export function ContactForm(props: { onSave: (c: Omit<WalletContact, 'id'>) => void; onCancel?: () => void }) {
  const [f, setF] = useState({ givenName: '', familyName: '', emailAddress: '', phoneNumber: '', street: '', locality: '', administrativeArea: '', postalCode: '', countryCode: '' });
  const field = (name: keyof typeof f, label: string, type = 'text', autoComplete?: string) => (
    <label className="contact-field">
      {label}
      <input type={type} value={f[name]} autoComplete={autoComplete} onChange={(e) => setF({ ...f, [name]: e.target.value })} />
    </label>
  );
  return (
    <form
      className="contact-form"
      aria-label="New contact"
      onSubmit={(e) => {
        e.preventDefault();
        const { street, ...rest } = f;
        props.onSave({ ...rest, addressLines: street.split('\n') });
      }}
    >
      {field('givenName', 'First name', 'text', 'given-name')}
      {field('familyName', 'Last name', 'text', 'family-name')}
      {field('emailAddress', 'E-mail address', 'email', 'email')}
      {field('phoneNumber', 'Phone number', 'tel', 'tel')}
      {field('street', 'Street', 'text', 'address-line1')}
      {field('locality', 'City', 'text', 'address-level2')}
      {field('administrativeArea', 'County or state', 'text', 'address-level1')}
      {field('postalCode', 'Postcode', 'text', 'postal-code')}
      {field('countryCode', 'Country code (GB, US…)', 'text', 'country')}
      <div className="button-row">
        <button type="submit">Save contact</button>
        {props.onCancel && (
          <button type="button" className="link" onClick={props.onCancel}>
            Back
          </button>
        )}
      </div>
    </form>
  );
}
