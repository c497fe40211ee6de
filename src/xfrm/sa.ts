/**
 * An ESP security association in tunnel mode (RFC 4303) with the two transforms vti needs:
 *
 * - `rfc4106(gcm(aes))` (RFC 4106): the key material is the AES key followed by a 4-byte salt; the
 *   nonce is salt || the 8-byte explicit IV carried in the packet; the AAD is SPI || sequence number;
 *   the ICV is the GCM tag, 8, 12 or 16 bytes (`ip xfrm`'s ICV length 64, 96 or 128 bits). The IV must
 *   never repeat under one key: burrow uses the 64-bit packet counter, as RFC 4106 3.1 suggests.
 * - `cbc(aes)` with `hmac(sha256)` (RFC 3602, RFC 4868): a random 16-byte IV, AES-CBC over the payload
 *   and trailer (block-aligned, no further padding), and HMAC-SHA-256 over SPI || sequence || IV ||
 *   ciphertext truncated to 128 bits (RFC 4868 2.3; `auth-trunc hmac(sha256) KEY 128`).
 *
 * Sequence numbers start at 1 and are 32 bits (no ESN). The anti-replay window (`replay-window N`,
 * at most 32 here, as the kernel's legacy bitmap) follows the kernel's xfrm_replay_check_legacy and
 * xfrm_replay_advance: checked before the ICV, advanced only after it verified; window 0 turns the
 * check off. The counters are those `ip -s xfrm state` prints (`stats: replay-window R replay P
 * failed F`, `lifetime current: B(bytes), N(packets)`).
 *
 * node:crypto allocates its cipher objects and output per packet; that is the one allocation per
 * packet on this path (measured in bench/esp.ts).
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ESP_HEADER_LENGTH, espPaddingLength, espTrailer, writeEspHeader, writeEspTrailer } from '../wire/esp.js';

export type EspTransform =
  | { kind: 'aead'; name: 'rfc4106(gcm(aes))'; key: Uint8Array; icvBits: number }
  | { kind: 'cbc-hmac'; encryption: Uint8Array; authentication: Uint8Array; icvBits: number };

export interface SaStats {
  /** Packets older than the window (x->stats.replay_window). */
  replayWindow: number;
  /** Packets seen before (x->stats.replay). */
  replay: number;
  /** ICV did not verify (x->stats.integrity_failed). */
  integrityFailed: number;
  /** curlft: bytes and packets through the SA (inner packets). */
  bytes: number;
  packets: number;
}

export type EspDrop = 'esp-replay-window' | 'esp-replay' | 'esp-integrity' | 'esp-malformed';

export interface SaConfig {
  spi: number;
  transform: EspTransform;
  /** 0 turns anti-replay off (the kernel's default for `ip xfrm state add`). */
  replayWindow: number;
}

function check(t: EspTransform): void {
  if (t.kind === 'aead') {
    if (![20, 28, 36].includes(t.key.length)) throw new RangeError('rfc4106 key material is an AES key and a 4-byte salt');
    if (![64, 96, 128].includes(t.icvBits)) throw new RangeError('rfc4106 ICV is 64, 96 or 128 bits');
  } else {
    if (![16, 24, 32].includes(t.encryption.length)) throw new RangeError('cbc(aes) key is 128, 192 or 256 bits');
    if (t.icvBits !== 128) throw new RangeError('hmac(sha256) is truncated to 128 bits (RFC 4868)');
  }
}

export class SecurityAssociation {
  readonly stats: SaStats = { replayWindow: 0, replay: 0, integrityFailed: 0, bytes: 0, packets: 0 };
  /** Last sequence number sent (oseq). */
  outboundSequence = 0;
  /** Highest sequence number accepted (seq) and the bitmap of the window below it. */
  inboundSequence = 0;
  bitmap = 0;
  readonly ivLength: number;
  readonly icvLength: number;
  private readonly blockSize: number;
  private readonly cipherName: string;

  constructor(readonly config: SaConfig) {
    const t = config.transform;
    check(t);
    if (!(config.replayWindow >= 0 && config.replayWindow <= 32)) throw new RangeError('replay-window is 0..32');
    this.icvLength = t.icvBits / 8;
    if (t.kind === 'aead') {
      this.ivLength = 8;
      this.blockSize = 4;
      this.cipherName = `aes-${(t.key.length - 4) * 8}-gcm`;
    } else {
      this.ivLength = 16;
      this.blockSize = 16;
      this.cipherName = `aes-${t.encryption.length * 8}-cbc`;
    }
  }

  /** Bytes ESP adds around an inner packet of `length` bytes. */
  overhead(length: number): number {
    return ESP_HEADER_LENGTH + this.ivLength + espPaddingLength(length, this.blockSize) + 2 + this.icvLength;
  }

  /**
   * The ESP packet (SPI to ICV) carrying `inner` (next header `nextHeader`: 4 for IPv4, 41 for IPv6).
   * Returns null when the 32-bit sequence number is used up (the SA must be replaced).
   */
  encrypt(inner: Uint8Array, nextHeader: number): Buffer | null {
    if (this.outboundSequence === 0xffffffff) return null;
    const sequence = ++this.outboundSequence;
    const padLength = espPaddingLength(inner.length, this.blockSize);
    const plainLength = inner.length + padLength + 2;
    const out = Buffer.allocUnsafe(ESP_HEADER_LENGTH + this.ivLength + plainLength + this.icvLength);
    writeEspHeader(out, 0, this.config.spi, sequence);
    const ivAt = ESP_HEADER_LENGTH;
    const cipherAt = ivAt + this.ivLength;
    out.set(inner, cipherAt);
    writeEspTrailer(out, cipherAt + inner.length, padLength, nextHeader);
    const plain = out.subarray(cipherAt, cipherAt + plainLength);
    const t = this.config.transform;
    if (t.kind === 'aead') {
      out.writeUInt32BE(0, ivAt);
      out.writeUInt32BE(sequence, ivAt + 4);
      const cipher = createCipheriv(this.cipherName, t.key.subarray(0, t.key.length - 4), this.nonce(out, ivAt), {
        authTagLength: this.icvLength,
      } as never) as import('node:crypto').CipherGCM;
      cipher.setAAD(out.subarray(0, ESP_HEADER_LENGTH));
      const c1 = cipher.update(plain);
      const c2 = cipher.final();
      out.set(c1, cipherAt);
      out.set(c2, cipherAt + c1.length);
      out.set(cipher.getAuthTag(), cipherAt + plainLength);
    } else {
      randomBytes(16).copy(out, ivAt);
      const cipher = createCipheriv(this.cipherName, t.encryption, out.subarray(ivAt, ivAt + 16)).setAutoPadding(false);
      const c1 = cipher.update(plain);
      const c2 = cipher.final();
      out.set(c1, cipherAt);
      out.set(c2, cipherAt + c1.length);
      const mac = createHmac('sha256', t.authentication).update(out.subarray(0, cipherAt + plainLength)).digest();
      mac.copy(out, cipherAt + plainLength, 0, this.icvLength);
    }
    this.stats.bytes += inner.length;
    this.stats.packets++;
    return out;
  }

  /**
   * Checks and decrypts one ESP packet (SPI to ICV) of this SA. Returns the inner packet and its next
   * header, or the drop (counted here as the kernel counts it on the state).
   */
  decrypt(esp: Uint8Array): { inner: Buffer; nextHeader: number } | EspDrop {
    if (esp.length < ESP_HEADER_LENGTH + this.ivLength + 2 + this.icvLength) return 'esp-malformed';
    const sequence = ((esp[4] << 24) | (esp[5] << 16) | (esp[6] << 8) | esp[7]) >>> 0;
    const replay = this.replayCheck(sequence);
    if (replay !== null) return replay;
    const ivAt = ESP_HEADER_LENGTH;
    const cipherAt = ivAt + this.ivLength;
    const icvAt = esp.length - this.icvLength;
    const ciphertext = esp.subarray(cipherAt, icvAt);
    const icv = esp.subarray(icvAt);
    const t = this.config.transform;
    let plain: Buffer;
    if (t.kind === 'aead') {
      try {
        const decipher = createDecipheriv(this.cipherName, t.key.subarray(0, t.key.length - 4), this.nonce(esp, ivAt), {
          authTagLength: this.icvLength,
        } as never) as import('node:crypto').DecipherGCM;
        decipher.setAAD(esp.subarray(0, ESP_HEADER_LENGTH));
        decipher.setAuthTag(icv);
        plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
      } catch {
        this.stats.integrityFailed++;
        return 'esp-integrity';
      }
    } else {
      const mac = createHmac('sha256', t.authentication).update(esp.subarray(0, icvAt)).digest();
      if (!timingSafeEqual(mac.subarray(0, this.icvLength), icv)) {
        this.stats.integrityFailed++;
        return 'esp-integrity';
      }
      if (ciphertext.length % 16 !== 0) return 'esp-malformed';
      const decipher = createDecipheriv(this.cipherName, t.encryption, esp.subarray(ivAt, ivAt + 16)).setAutoPadding(false);
      plain = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    }
    const trailer = espTrailer(plain, 0, plain.length);
    if (trailer === null) return 'esp-malformed';
    this.replayAdvance(sequence);
    this.stats.bytes += trailer.payloadLength;
    this.stats.packets++;
    return { inner: plain.subarray(0, trailer.payloadLength), nextHeader: trailer.nextHeader };
  }

  /** xfrm_replay_check_legacy. */
  private replayCheck(sequence: number): EspDrop | null {
    const window = this.config.replayWindow;
    if (window === 0) return null;
    if (sequence === 0) return 'esp-replay';
    if (sequence > this.inboundSequence) return null;
    const diff = this.inboundSequence - sequence;
    if (diff >= window) {
      this.stats.replayWindow++;
      return 'esp-replay-window';
    }
    if (this.bitmap & (1 << diff)) {
      this.stats.replay++;
      return 'esp-replay';
    }
    return null;
  }

  /** xfrm_replay_advance (legacy bitmap). */
  private replayAdvance(sequence: number): void {
    const window = this.config.replayWindow;
    if (window === 0) return;
    if (sequence > this.inboundSequence) {
      const diff = sequence - this.inboundSequence;
      this.bitmap = diff < window ? ((this.bitmap << diff) | 1) >>> 0 : 1;
      this.inboundSequence = sequence;
    } else {
      this.bitmap = (this.bitmap | (1 << (this.inboundSequence - sequence))) >>> 0;
    }
  }

  /** RFC 4106 4: salt || explicit IV. */
  private nonce(packet: Uint8Array, ivAt: number): Buffer {
    const t = this.config.transform as { key: Uint8Array };
    const nonce = Buffer.allocUnsafe(12);
    nonce.set(t.key.subarray(t.key.length - 4), 0);
    nonce.set(packet.subarray(ivAt, ivAt + 8), 4);
    return nonce;
  }
}
