import type { ProductRow } from './repository.js';

export const STORE_NAME = 'Tessera Outfitters';
export const STORE_CURRENCY = 'USD';
export const STORE_COUNTRY = 'US';

/** The demo shop's catalogue (prices in minor units), written on every start. */
export const PRODUCTS: readonly ProductRow[] = [
  { id: 'prod_trail_cap', name: 'Trail cap', description: 'Six-panel cotton cap with an embroidered tessera.', price: 1800, currency: 'USD', image: '#2f6f4f', position: 1 },
  { id: 'prod_field_tee', name: 'Field tee', description: 'Organic cotton T-shirt, garment dyed.', price: 2400, currency: 'USD', image: '#3b5b92', position: 2 },
  { id: 'prod_canvas_tote', name: 'Canvas tote', description: 'Heavy canvas tote bag with an inside pocket.', price: 1500, currency: 'USD', image: '#a0522d', position: 3 },
  { id: 'prod_wool_socks', name: 'Wool socks', description: 'Merino hiking socks, two pairs.', price: 1200, currency: 'USD', image: '#7b3f61', position: 4 },
  { id: 'prod_rain_shell', name: 'Rain shell', description: 'Packable waterproof jacket.', price: 8900, currency: 'USD', image: '#b8860b', position: 5 },
];
