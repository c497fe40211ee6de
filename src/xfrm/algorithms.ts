/**
 * The kernel's IPsec algorithm names (net/xfrm/xfrm_algo.c) and how a state's algorithms become an ESP
 * transform, refused as the kernel refuses them (xfrm_user.c attach_aead / attach_auth_trunc /
 * attach_auth / attach_crypt, then esp4's init), or as burrow refuses what it does not implement.
 *
 * The kernel stores the canonical name (`enc aes` lists as `enc cbc(aes)`), turns `auth NAME` into a
 * truncated ICV of the algorithm's default length (96 bits for hmac(sha256)), and takes an `auth-trunc`
 * length of 0 as that default. An AEAD is found by name and ICV length together.
 */
import { transformProblem, type EspTransform } from './sa.js';
import { kernelRefusal, unsupported } from './refusal.js';

interface AuthAlgorithm {
  name: string;
  compat?: string;
  /** Default truncation (icv_truncbits) and the full digest (icv_fullbits). */
  truncBits: number;
  fullBits: number;
}

/** aead_list: name and the ICV lengths it is registered with. */
const AEAD: ReadonlyArray<{ name: string; icvBits: readonly number[] }> = [
  { name: 'rfc4106(gcm(aes))', icvBits: [64, 96, 128] },
  { name: 'rfc4309(ccm(aes))', icvBits: [64, 96, 128] },
  { name: 'rfc4543(gcm(aes))', icvBits: [128] },
  { name: 'rfc7539esp(chacha20,poly1305)', icvBits: [128] },
];

/** aalg_list. */
const AUTH: readonly AuthAlgorithm[] = [
  { name: 'digest_null', truncBits: 0, fullBits: 0 },
  { name: 'hmac(md5)', compat: 'md5', truncBits: 96, fullBits: 128 },
  { name: 'hmac(sha1)', compat: 'sha1', truncBits: 96, fullBits: 160 },
  { name: 'hmac(sha256)', compat: 'sha256', truncBits: 96, fullBits: 256 },
  { name: 'hmac(sha384)', truncBits: 192, fullBits: 384 },
  { name: 'hmac(sha512)', truncBits: 256, fullBits: 512 },
  { name: 'hmac(rmd160)', compat: 'rmd160', truncBits: 96, fullBits: 160 },
  { name: 'xcbc(aes)', truncBits: 96, fullBits: 128 },
  { name: 'cmac(aes)', truncBits: 96, fullBits: 128 },
  { name: 'hmac(sm3)', compat: 'sm3', truncBits: 256, fullBits: 256 },
];

/** ealg_list: name and compatibility name. */
const CRYPT: ReadonlyArray<{ name: string; compat?: string }> = [
  { name: 'ecb(cipher_null)', compat: 'cipher_null' },
  { name: 'cbc(des)', compat: 'des' },
  { name: 'cbc(des3_ede)', compat: 'des3_ede' },
  { name: 'cbc(cast5)', compat: 'cast5' },
  { name: 'cbc(blowfish)', compat: 'blowfish' },
  { name: 'cbc(aes)', compat: 'aes' },
  { name: 'cbc(serpent)', compat: 'serpent' },
  { name: 'cbc(camellia)', compat: 'camellia' },
  { name: 'cbc(twofish)', compat: 'twofish' },
  { name: 'rfc3686(ctr(aes))', compat: 'rfc3686(ctr(aes))' },
  { name: 'cbc(sm4)', compat: 'sm4' },
];

/** The algorithms of a state as `ip xfrm state add` gives them (keys as bytes). */
export interface StateAlgorithms {
  aead?: { name: string; key: Uint8Array; icvBits: number };
  enc?: { name: string; key: Uint8Array };
  /** `auth` (trunc false) or `auth-trunc` (truncBits as given). */
  auth?: { name: string; key: Uint8Array; truncBits: number; trunc: boolean };
  comp?: { name: string };
}

/** What the kernel stores, and the transform burrow runs with it. */
export interface ResolvedAlgorithms {
  /** Canonical names and lengths, as `ip xfrm state` lists them. */
  aead?: { name: string; icvBits: number };
  enc?: { name: string };
  auth?: { name: string; truncBits: number };
  transform: EspTransform;
}

function byName<T extends { name: string; compat?: string }>(list: readonly T[], name: string): T | undefined {
  return list.find((a) => a.name === name || a.compat === name);
}

/**
 * The kernel's checks in its order (aead, auth-trunc, auth, crypt, then esp4 keys), with burrow's own
 * limits in between: only rfc4106(gcm(aes)), and cbc(aes) with hmac(sha256).
 */
export function resolveAlgorithms(a: StateAlgorithms): ResolvedAlgorithms {
  if (a.comp !== undefined) throw kernelRefusal('EINVAL');
  let aead: ResolvedAlgorithms['aead'];
  let auth: ResolvedAlgorithms['auth'];
  let enc: ResolvedAlgorithms['enc'];
  if (a.aead !== undefined) {
    const entry = AEAD.find((e) => e.name === a.aead!.name && e.icvBits.includes(a.aead!.icvBits));
    if (entry === undefined) throw kernelRefusal('EINVAL', 'Requested AEAD algorithm not found');
    aead = { name: entry.name, icvBits: a.aead.icvBits };
  }
  if (a.auth !== undefined) {
    const entry = byName(AUTH, a.auth.name);
    if (entry === undefined) throw kernelRefusal('EINVAL', `Requested ${a.auth.trunc ? 'AUTH_TRUNC' : 'AUTH'} algorithm not found`);
    let truncBits = entry.truncBits;
    if (a.auth.trunc && a.auth.truncBits !== 0) {
      if (a.auth.truncBits > entry.fullBits) throw kernelRefusal('EINVAL', 'Invalid length requested for truncated ICV');
      truncBits = a.auth.truncBits;
    }
    auth = { name: entry.name, truncBits };
  }
  if (a.enc !== undefined) {
    const entry = byName(CRYPT, a.enc.name);
    if (entry === undefined) throw kernelRefusal('EINVAL', 'Requested CRYPT algorithm not found');
    enc = { name: entry.name };
  }
  let transform: EspTransform;
  if (aead !== undefined) {
    if (aead.name !== 'rfc4106(gcm(aes))') throw unsupported(`aead ${aead.name}`, `burrow's ESP has rfc4106(gcm(aes)), and cbc(aes) with hmac(sha256)`);
    transform = { kind: 'aead', name: 'rfc4106(gcm(aes))', key: a.aead!.key, icvBits: aead.icvBits };
    // esp_init_aead: crypto_aead_setkey refuses a key that is not an AES key plus the 4-byte salt.
    if (transformProblem(transform) !== null) throw kernelRefusal('EINVAL', 'Kernel was unable to initialize cryptographic operations');
  } else {
    if (enc?.name !== 'cbc(aes)') throw unsupported(`enc ${enc?.name}`, `burrow's ESP has cbc(aes) with hmac(sha256), and rfc4106(gcm(aes))`);
    if (auth === undefined) throw unsupported('ESP without authentication', `burrow needs auth hmac(sha256) with enc cbc(aes)`);
    if (auth.name !== 'hmac(sha256)') throw unsupported(`auth ${auth.name}`, `burrow authenticates with hmac(sha256)`);
    // crypto_aead_setauthsize takes whole bytes of the truncation.
    const icvBits = (auth.truncBits >> 3) << 3;
    if (icvBits === 0) throw unsupported(`an ICV of ${auth.truncBits} bits`);
    transform = { kind: 'cbc-hmac', encryption: a.enc!.key, authentication: a.auth!.key, icvBits };
    // authenc's setkey: AES takes 128, 192 or 256-bit keys (no extended ack in this path).
    if (transformProblem(transform) !== null) throw kernelRefusal('EINVAL');
  }
  return { ...(aead ? { aead } : {}), ...(enc ? { enc } : {}), ...(auth ? { auth } : {}), transform };
}
