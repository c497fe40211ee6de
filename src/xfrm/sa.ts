/**
 * An ESP security association in tunnel mode (RFC 4303) with the two transforms vti needs:
 *
 * - `rfc4106(gcm(aes))` (RFC 4106): the key material is the AES key followed by a 4-byte salt; the
 *   nonce is salt || the 8-byte explicit IV carried in the packet; the AAD is SPI || sequence number;
 *   the ICV is the GCM tag, 8, 12 or 16 bytes (`ip xfrm`'s ICV length 64, 96 or 128 bits). The IV must
 *   never repeat under one key: burrow uses the 64-bit packet counter, as RFC 4106 3.1 suggests.
 * - `cbc(aes)` with `hmac(sha256)` (RFC 3602, RFC 4868): a random 16-byte IV, AES-CBC over the payload
 *   and trailer (block-aligned, no further padding), and HMAC-SHA-256 over SPI || sequence || IV ||
 *   ciphertext truncated to the state's length: 128 bits as RFC 4868 2.3 says (`auth-trunc
 *   hmac(sha256) KEY 128`), or what the kernel accepts besides (96 for a plain `auth hmac(sha256)`).
 *
 * Sequence numbers start at 1 and are 32 bits (no ESN). The anti-replay window (`replay-window N`,
 * at most 32 here, as the kernel's legacy bitmap) follows the kernel's xfrm_replay_check_legacy and
 * xfrm_replay_advance: checked before the ICV, advanced only after it verified; window 0 turns the
 * check off. The counters are those `ip -s xfrm state` prints (`stats: replay-window R replay P
 * failed F`, `lifetime current: B(bytes), N(packets)`).
 *
 * The packet path works in place (`seal`, `open`): the inner packet sits in the caller's buffer and the
 * ESP header, IV, trailer and ICV are written around it; decryption leaves the inner packet where the
 * ciphertext was. node:crypto still allocates its cipher objects and output per packet (measured in
 * bench/esp.ts); `encrypt` and `decrypt` are copying conveniences for tests and tools.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomFillSync,
  timingSafeEqual,
  type CipherGCM,
  type DecipherGCM,
  type KeyObject,
} from 'node:crypto';
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

/** Where `open` left the inner packet. */
export interface OpenedEsp {
  start: number;
  length: number;
  nextHeader: number;
}

/** Why a transform cannot be used, or null (the kernel's own limits; see xfrm/algorithms.ts). */
export function transformProblem(t: EspTransform): string | null {
  if (t.kind === 'aead') {
    if (![20, 28, 36].includes(t.key.length)) return 'rfc4106 key material is an AES key and a 4-byte salt';
    if (![64, 96, 128].includes(t.icvBits)) return 'rfc4106 ICV is 64, 96 or 128 bits';
  } else {
    if (![16, 24, 32].includes(t.encryption.length)) return 'cbc(aes) key is 128, 192 or 256 bits';
    if (!(t.icvBits > 0 && t.icvBits <= 256 && t.icvBits % 8 === 0)) return 'hmac(sha256) truncation is 8..256 bits, whole bytes';
  }
  return null;
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
  /** The cipher's block size for padding: 4 for GCM (RFC 4303's minimum), 16 for CBC. */
  readonly blockSize: number;
  private readonly cipherName: string;
  private readonly cipherKey: KeyObject;
  private readonly macKey: KeyObject | null;
  private readonly salt: Uint8Array | null;
  private readonly nonceBuffer = Buffer.alloc(12);

  constructor(readonly config: SaConfig) {
    const t = config.transform;
    const problem = transformProblem(t);
    if (problem !== null) throw new RangeError(problem);
    if (!(config.replayWindow >= 0 && config.replayWindow <= 32)) throw new RangeError('replay-window is 0..32');
    this.icvLength = t.icvBits / 8;
    if (t.kind === 'aead') {
      this.ivLength = 8;
      this.blockSize = 4;
      this.cipherName = `aes-${(t.key.length - 4) * 8}-gcm`;
      this.cipherKey = createSecretKey(t.key.subarray(0, t.key.length - 4));
      this.salt = t.key.slice(t.key.length - 4);
      this.nonceBuffer.set(this.salt, 0);
      this.macKey = null;
    } else {
      this.ivLength = 16;
      this.blockSize = 16;
      this.cipherName = `aes-${t.encryption.length * 8}-cbc`;
      this.cipherKey = createSecretKey(t.encryption);
      this.macKey = createSecretKey(t.authentication);
      this.salt = null;
    }
  }

  /** Bytes ESP adds around an inner packet of `length` bytes. */
  overhead(length: number): number {
    return ESP_HEADER_LENGTH + this.ivLength + espPaddingLength(length, this.blockSize) + 2 + this.icvLength;
  }

  /** Bytes ESP puts in front of the inner packet: header and IV. */
  get headerLength(): number {
    return ESP_HEADER_LENGTH + this.ivLength;
  }

  /**
   * Seals in place the inner packet at bytes[innerStart, innerStart + innerLength): the ESP header
   * and IV go into the `headerLength` bytes before it, padding, trailer and ICV after it (at most
   * blockSize + 1 + icvLength bytes), and the payload is encrypted where it lies. Returns the ESP
   * length (from SPI to ICV), or 0 when the 32-bit sequence number is used up (the state must be
   * replaced; the kernel's xfrm_replay_overflow).
   */
  seal(bytes: Uint8Array, innerStart: number, innerLength: number, nextHeader: number): number {
    if (this.outboundSequence === 0xffffffff) return 0;
    const sequence = ++this.outboundSequence;
    const espStart = innerStart - this.ivLength - ESP_HEADER_LENGTH;
    const ivAt = espStart + ESP_HEADER_LENGTH;
    const padLength = espPaddingLength(innerLength, this.blockSize);
    const plainLength = innerLength + padLength + 2;
    writeEspHeader(bytes, espStart, this.config.spi, sequence);
    writeEspTrailer(bytes, innerStart + innerLength, padLength, nextHeader);
    const plain = bytes.subarray(innerStart, innerStart + plainLength);
    const icvAt = innerStart + plainLength;
    if (this.salt !== null) {
      // RFC 4106 3.1: the explicit IV is the 64-bit counter (here 0 || sequence), unique under the key.
      bytes[ivAt] = bytes[ivAt + 1] = bytes[ivAt + 2] = bytes[ivAt + 3] = 0;
      bytes[ivAt + 4] = sequence >>> 24;
      bytes[ivAt + 5] = sequence >>> 16;
      bytes[ivAt + 6] = sequence >>> 8;
      bytes[ivAt + 7] = sequence;
      const cipher = createCipheriv(this.cipherName, this.cipherKey, this.nonce(bytes, ivAt), {
        authTagLength: this.icvLength,
      } as never) as CipherGCM;
      cipher.setAAD(bytes.subarray(espStart, espStart + ESP_HEADER_LENGTH));
      const c1 = cipher.update(plain);
      const c2 = cipher.final();
      bytes.set(c1, innerStart);
      if (c2.length > 0) bytes.set(c2, innerStart + c1.length);
      bytes.set(cipher.getAuthTag(), icvAt);
    } else {
      randomFillSync(bytes, ivAt, 16);
      const cipher = createCipheriv(this.cipherName, this.cipherKey, bytes.subarray(ivAt, ivAt + 16)).setAutoPadding(false);
      const c1 = cipher.update(plain);
      const c2 = cipher.final();
      bytes.set(c1, innerStart);
      if (c2.length > 0) bytes.set(c2, innerStart + c1.length);
      const mac = createHmac('sha256', this.macKey!).update(bytes.subarray(espStart, icvAt)).digest();
      bytes.set(mac.subarray(0, this.icvLength), icvAt);
    }
    this.stats.bytes += innerLength;
    this.stats.packets++;
    return icvAt + this.icvLength - espStart;
  }

  /**
   * Checks and decrypts in place one ESP packet of this SA at bytes[start, start + length) (SPI to
   * ICV); on success `out` says where the inner packet now lies. Otherwise the drop, counted on the
   * state as the kernel counts it (replay before the ICV, integrity, then the trailer).
   */
  open(bytes: Uint8Array, start: number, length: number, out: OpenedEsp): EspDrop | null {
    if (length < ESP_HEADER_LENGTH + this.ivLength + 2 + this.icvLength) return 'esp-malformed';
    const sequence = ((bytes[start + 4] << 24) | (bytes[start + 5] << 16) | (bytes[start + 6] << 8) | bytes[start + 7]) >>> 0;
    const replay = this.replayCheck(sequence);
    if (replay !== null) return replay;
    const ivAt = start + ESP_HEADER_LENGTH;
    const cipherAt = ivAt + this.ivLength;
    const icvAt = start + length - this.icvLength;
    const ciphertext = bytes.subarray(cipherAt, icvAt);
    const icv = bytes.subarray(icvAt, start + length);
    if (this.salt !== null) {
      const decipher = createDecipheriv(this.cipherName, this.cipherKey, this.nonce(bytes, ivAt), {
        authTagLength: this.icvLength,
      } as never) as DecipherGCM;
      decipher.setAAD(bytes.subarray(start, start + ESP_HEADER_LENGTH));
      decipher.setAuthTag(icv);
      const p1 = decipher.update(ciphertext);
      // node:crypto reports a bad tag only by throwing from final().
      try {
        decipher.final();
      } catch {
        this.stats.integrityFailed++;
        return 'esp-integrity';
      }
      bytes.set(p1, cipherAt);
    } else {
      const mac = createHmac('sha256', this.macKey!).update(bytes.subarray(start, icvAt)).digest();
      if (!timingSafeEqual(mac.subarray(0, this.icvLength), icv)) {
        this.stats.integrityFailed++;
        return 'esp-integrity';
      }
      if (ciphertext.length % 16 !== 0) return 'esp-malformed';
      const decipher = createDecipheriv(this.cipherName, this.cipherKey, bytes.subarray(ivAt, ivAt + 16)).setAutoPadding(false);
      const p1 = decipher.update(ciphertext);
      const p2 = decipher.final();
      bytes.set(p1, cipherAt);
      if (p2.length > 0) bytes.set(p2, cipherAt + p1.length);
    }
    const trailer = espTrailer(bytes, cipherAt, icvAt - cipherAt);
    if (trailer === null) return 'esp-malformed';
    this.replayAdvance(sequence);
    this.stats.bytes += trailer.payloadLength;
    this.stats.packets++;
    out.start = cipherAt;
    out.length = trailer.payloadLength;
    out.nextHeader = trailer.nextHeader;
    return null;
  }

  /** The ESP packet (SPI to ICV) carrying a copy of `inner`; null when the sequence numbers are used up. */
  encrypt(inner: Uint8Array, nextHeader: number): Buffer | null {
    // seal writes every byte around the copied inner packet.
    const out = Buffer.allocUnsafe(this.overhead(inner.length) + inner.length);
    out.set(inner, this.headerLength);
    const length = this.seal(out, this.headerLength, inner.length, nextHeader);
    return length === 0 ? null : out;
  }

  /** Decrypts a copy of one ESP packet (SPI to ICV): the inner packet and its next header, or the drop. */
  decrypt(esp: Uint8Array): { inner: Buffer; nextHeader: number } | EspDrop {
    const copy = Buffer.from(esp);
    const out: OpenedEsp = { start: 0, length: 0, nextHeader: 0 };
    const drop = this.open(copy, 0, copy.length, out);
    if (drop !== null) return drop;
    return { inner: copy.subarray(out.start, out.start + out.length), nextHeader: out.nextHeader };
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

  /** RFC 4106 4: salt || explicit IV, in a buffer reused for every packet. */
  private nonce(packet: Uint8Array, ivAt: number): Buffer {
    this.nonceBuffer.set(packet.subarray(ivAt, ivAt + 8), 4);
    return this.nonceBuffer;
  }
}
