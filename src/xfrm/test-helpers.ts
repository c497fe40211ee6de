/** Builders shared by xfrm/ and tunnel/ tests: requests as `ip xfrm ... add` would send them. */
import { emptyPolicyRequest, type XfrmPolicyRequest, type XfrmTemplate } from './policy.js';
import { emptySelector, type Selector } from './selector.js';
import { emptyStateRequest, type XfrmStateRequest } from './state.js';

export const GCM_KEY = '4a6f686e20446f65207761732068657265010203';
export const CBC_KEY = '000102030405060708090a0b0c0d0e0f';
export const HMAC_KEY = '101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f';

export function addr(text: string): number {
  const p = text.split('.').map(Number);
  return ((p[0]! << 24) | (p[1]! << 16) | (p[2]! << 8) | p[3]!) >>> 0;
}

/** A selector from `src/len` and `dst/len` texts (family AF_INET when given). */
export function selector(src = '0.0.0.0/0', dst = '0.0.0.0/0', fields: Partial<Selector> = {}): Selector {
  const [s, sl] = src.split('/');
  const [d, dl] = dst.split('/');
  return { ...emptySelector(), family: 2, src: addr(s!), srcLength: Number(sl ?? 32), dst: addr(d!), dstLength: Number(dl ?? 32), ...fields };
}

/** An ESP tunnel-mode state with rfc4106(gcm(aes)) 128 (or `cbc: true` for cbc(aes) + hmac(sha256) 128). */
export function stateRequest(
  src: string,
  dst: string,
  spi: number,
  fields: Partial<XfrmStateRequest> & { cbc?: boolean } = {},
): XfrmStateRequest {
  const { cbc, ...rest } = fields;
  return {
    ...emptyStateRequest(2),
    src: addr(src),
    dst: addr(dst),
    proto: 50,
    spi,
    mode: 1,
    ...(cbc
      ? { enc: { name: 'cbc(aes)', key: CBC_KEY }, auth: { name: 'hmac(sha256)', key: HMAC_KEY, truncBits: 128, trunc: true } }
      : { aead: { name: 'rfc4106(gcm(aes))', key: GCM_KEY, icvBits: 128 } }),
    ...rest,
  };
}

export function template(src: string, dst: string, fields: Partial<XfrmTemplate> = {}): XfrmTemplate {
  return { family: 2, src: addr(src), dst: addr(dst), proto: 50, spi: 0, mode: 1, reqid: 0, optional: false, ...fields };
}

/** A policy: direction 'in' | 'out' | 'fwd', selector 0/0 unless given. */
export function policyRequest(dir: 'in' | 'out' | 'fwd', fields: Partial<XfrmPolicyRequest> = {}): XfrmPolicyRequest {
  return {
    ...emptyPolicyRequest(2),
    dir: dir === 'in' ? 0 : dir === 'out' ? 1 : 2,
    ...fields,
  };
}

export const mark = (value: number, mask = 0xffffffff) => ({ value, mask });
