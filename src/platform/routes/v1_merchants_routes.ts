import type { RouteSpec } from '../../infra/http/route.js';
import type { MerchantService } from '../merchants/service.js';
import { v1_merchants_applepay_script } from './v1_merchants_applepay_script.js';
import { v1_merchants_certificates_create } from './v1_merchants_certificates_create.js';
import { v1_merchants_certificates_list } from './v1_merchants_certificates_list.js';
import { v1_merchants_certificates_revoke } from './v1_merchants_certificates_revoke.js';
import { v1_merchants_create } from './v1_merchants_create.js';
import { v1_merchants_domains_create } from './v1_merchants_domains_create.js';
import { v1_merchants_domains_delete } from './v1_merchants_domains_delete.js';
import { v1_merchants_domains_list } from './v1_merchants_domains_list.js';
import { v1_merchants_domains_verify } from './v1_merchants_domains_verify.js';
import { v1_merchants_get } from './v1_merchants_get.js';
import { v1_merchants_list } from './v1_merchants_list.js';

/** Every route of the merchant registry (the validation listener is not here: it is its own HTTPS server). */
export function merchantRoutes(svc: MerchantService): RouteSpec[] {
  return [
    v1_merchants_create(svc),
    v1_merchants_list(svc),
    v1_merchants_get(svc),
    v1_merchants_domains_create(svc),
    v1_merchants_domains_list(svc),
    v1_merchants_domains_verify(svc),
    v1_merchants_domains_delete(svc),
    v1_merchants_certificates_create(svc),
    v1_merchants_certificates_list(svc),
    v1_merchants_certificates_revoke(svc),
    v1_merchants_applepay_script(svc),
  ];
}
