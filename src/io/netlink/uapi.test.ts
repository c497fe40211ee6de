/**
 * Every number messages.ts hard-codes, checked against the uapi headers installed on this machine
 * (linux-libc-dev and libc6-dev), by parsing them: #defines, enums (with implicit increments and
 * aliases) and the sizes of the fixed structs. A constant that is not in the headers must be listed
 * in NOT_IN_UAPI with the way it is checked instead.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import * as M from './messages.js';

const LINUX = '/usr/include/linux';

function archInclude(): string | undefined {
  for (const d of readdirSync('/usr/include')) {
    if (existsSync(`/usr/include/${d}/bits/socket.h`)) return `/usr/include/${d}`;
  }
  return undefined;
}

const HEADERS = [
  `${LINUX}/netlink.h`,
  `${LINUX}/rtnetlink.h`,
  `${LINUX}/if_link.h`,
  `${LINUX}/if_addr.h`,
  `${LINUX}/if.h`,
  `${LINUX}/if_arp.h`,
  `${LINUX}/if_tun.h`,
  '/usr/include/asm-generic/socket.h',
];

interface Parsed {
  /** name -> every expression text it is given (enums and object-like #defines). */
  exprs: Map<string, string[]>;
  structs: Map<string, { type: string; name: string }[]>;
}

function stripComments(src: string): string {
  return src
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\/\/.*$/gm, '')
    .replace(/\\\n/g, ' ');
}

function parseHeader(src: string, into: Parsed): void {
  const text = stripComments(src);
  const add = (name: string, expr: string): void => {
    const list = into.exprs.get(name) ?? [];
    if (!list.includes(expr)) list.push(expr);
    into.exprs.set(name, list);
  };
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(\(?)(.*)$/gm)) {
    const [, name, paren, rest] = m;
    const expr = rest!.trim();
    // Function-like macros, empty guards and `#define X X` (an enum names it) are not values.
    if (paren === '(' || expr === '' || expr === name) continue;
    add(name!, expr);
  }
  const noDirectives = text.replace(/^[ \t]*#.*$/gm, '');
  for (const m of noDirectives.matchAll(/\benum\b[^{};]*\{([^}]*)\}/g)) {
    let prev: string | undefined;
    for (const item of m[1]!.split(',')) {
      const e = /^\s*([A-Za-z_]\w*)\s*(?:=\s*([\s\S]+?))?\s*$/.exec(item);
      if (!e) continue;
      const name = e[1]!;
      add(name, e[2] ?? (prev === undefined ? '0' : `(${prev}) + 1`));
      prev = name;
    }
  }
  for (const m of noDirectives.matchAll(/\bstruct\s+(\w+)\s*\{([^{}]*)\}\s*;/g)) {
    const fields: { type: string; name: string }[] = [];
    for (const decl of m[2]!.split(';')) {
      const d = decl.trim().replace(/\s+/g, ' ');
      const f = /^(.*\S)\s+(\w+)(\[\d*\])?$/.exec(d);
      if (!f) continue;
      fields.push({ type: f[1]! + (f[3] ?? ''), name: f[2]! });
    }
    if (!into.structs.has(m[1]!)) into.structs.set(m[1]!, fields);
  }
}

function evaluate(p: Parsed, name: string, seen = new Set<string>()): number[] {
  const exprs = p.exprs.get(name);
  if (exprs === undefined || seen.has(name)) return [];
  const next = new Set(seen).add(name);
  const values: number[] = [];
  for (const expr of exprs) {
    const v = evalExpr(p, expr, next);
    if (v !== undefined && !values.includes(v)) values.push(v);
  }
  return values;
}

function evalExpr(p: Parsed, expr: string, seen: Set<string>): number | undefined {
  let failed = false;
  let js = expr
    .replace(/\(\s*(?:unsigned|signed|int|long|short|char|__[us]\d+|\s)+\)/g, '')
    .replace(/\b0[xX][0-9a-fA-F]+[uUlL]*\b|\b\d+[uUlL]*\b/g, (n) => {
      const t = n.replace(/[uUlL]+$/, '');
      return String(/^0[0-7]+$/.test(t) ? parseInt(t, 8) : Number(t));
    })
    .replace(/\b[A-Za-z_]\w*\b/g, (id) => {
      const v = evaluate(p, id, seen);
      if (v.length !== 1) failed = true;
      return `(${v[0]})`;
    });
  if (failed) return undefined;
  js = js.trim();
  if (!/^[\d\s()+\-*<>|&~^]+$/.test(js)) return undefined;
  const v = Function(`"use strict"; return (${js});`)() as number;
  return v;
}

const SIZES: Record<string, number> = {
  'unsigned char': 1,
  __u8: 1,
  'unsigned short': 2,
  __u16: 2,
  __kernel_sa_family_t: 2,
  int: 4,
  unsigned: 4,
  'unsigned int': 4,
  __u32: 4,
  __s32: 4,
  __u64: 8,
};

function structSize(p: Parsed, name: string): { size: number; align: number } {
  const fields = p.structs.get(name);
  assert.ok(fields, `struct ${name} in the headers`);
  let size = 0;
  let align = 1;
  for (const f of fields) {
    let s: number;
    let a: number;
    const nested = /^struct (\w+)$/.exec(f.type);
    if (nested) {
      ({ size: s, align: a } = structSize(p, nested[1]!));
    } else {
      const known = SIZES[f.type];
      assert.ok(known !== undefined, `size of field type ${f.type} in struct ${name}`);
      s = known;
      a = known;
    }
    size = Math.ceil(size / a) * a + s;
    align = Math.max(align, a);
  }
  return { size: Math.ceil(size / align) * align, align };
}

/** Constants that the uapi headers do not export, and how each one is checked instead. */
const NOT_IN_UAPI: Record<string, string> = {
  USER_HZ: 'equals sysconf(_SC_CLK_TCK), checked below with getconf',
  INFINITY_LIFE_TIME:
    'the kernel\'s include/net/addrconf.h; integration test sees "forever" lifetimes decode to it',
};

/** SIZEOF_X -> struct name in the headers. */
const STRUCTS: Record<string, string> = {
  SIZEOF_SOCKADDR_NL: 'sockaddr_nl',
  SIZEOF_NLMSGHDR: 'nlmsghdr',
  SIZEOF_NLMSGERR: 'nlmsgerr',
  SIZEOF_NLATTR: 'nlattr',
  SIZEOF_IFINFOMSG: 'ifinfomsg',
  SIZEOF_IFADDRMSG: 'ifaddrmsg',
  SIZEOF_IFA_CACHEINFO: 'ifa_cacheinfo',
  SIZEOF_RTMSG: 'rtmsg',
  SIZEOF_RTA_CACHEINFO: 'rta_cacheinfo',
  SIZEOF_RTNEXTHOP: 'rtnexthop',
};

const arch = archInclude();
const missing = [...HEADERS, `${arch}/bits/socket.h`].filter((h) => !existsSync(h));
const skip = arch === undefined || missing.length > 0 ? `needs uapi headers: ${missing.join(' ')}` : false;

function load(): Parsed {
  const p: Parsed = { exprs: new Map(), structs: new Map() };
  for (const h of [...HEADERS, `${arch}/bits/socket.h`, `${arch}/bits/socket_type.h`]) {
    if (existsSync(h)) parseHeader(readFileSync(h, 'utf8'), p);
  }
  return p;
}

test('the header parser itself: enums, aliases, shifts, casts, octal', () => {
  const p: Parsed = { exprs: new Map(), structs: new Map() };
  parseHeader(
    `enum { A, B, C = 10, D, E = B, F };
     #define G (1 << 4) /* c */
     #define H ((int) G | 0x1U)
     #define I 010
     #define J(x) x
     struct s { unsigned char a; int b; };`,
    p,
  );
  assert.deepEqual(
    ['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I'].map((n) => evaluate(p, n)[0]),
    [0, 1, 10, 11, 1, 2, 16, 17, 8],
  );
  assert.equal(p.exprs.has('J'), false);
  assert.equal(structSize(p, 's').size, 8);
});

test('every numeric constant in messages.ts equals its uapi header value', { skip }, () => {
  const p = load();
  const checked: string[] = [];
  for (const [name, value] of Object.entries(M)) {
    if (typeof value !== 'number' || !/^[A-Z][A-Z0-9_]*$/.test(name)) continue;
    if (name in NOT_IN_UAPI || name in STRUCTS) continue;
    const header = evaluate(p, name);
    assert.ok(header.length > 0, `${name} is not in the headers (add it to NOT_IN_UAPI with a reason?)`);
    assert.ok(
      header.some((h) => h >>> 0 === value >>> 0),
      `${name}: messages.ts has ${value}, headers have ${header.join(' or ')}`,
    );
    checked.push(name);
  }
  assert.ok(checked.length > 150, `checked ${checked.length} constants`);
});

test('SIZEOF_* constants equal the sizes of the header structs', { skip }, () => {
  const p = load();
  for (const [name, struct] of Object.entries(STRUCTS)) {
    const value = (M as unknown as Record<string, number>)[name];
    assert.equal(value, structSize(p, struct).size, `${name} vs struct ${struct}`);
  }
  for (const name of Object.keys(M)) {
    if (name.startsWith('SIZEOF_')) assert.ok(name in STRUCTS, `${name} has a struct to check against`);
  }
});

test('LINK_STATS64_FIELDS follow struct rtnl_link_stats64', { skip }, () => {
  const p = load();
  const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  const fields = p.structs.get('rtnl_link_stats64')!.map((f) => camel(f.name));
  assert.deepEqual([...M.LINK_STATS64_FIELDS], fields);
});

test('name tables follow the header enums', { skip }, () => {
  const p = load();
  M.ROUTE_TYPES.forEach((t, i) => assert.deepEqual(evaluate(p, `RTN_${t.toUpperCase()}`), [i], t));
  M.OPER_STATES.forEach((s, i) => assert.deepEqual(evaluate(p, `IF_OPER_${s}`), [i], s));
  const gen = ['EUI64', 'NONE', 'STABLE_PRIVACY', 'RANDOM'];
  M.ADDR_GEN_MODES.forEach((_, i) => assert.deepEqual(evaluate(p, `IN6_ADDR_GEN_MODE_${gen[i]}`), [i]));
});

test('the constants outside the uapi headers', () => {
  const names = Object.keys(M).filter((n) => n in NOT_IN_UAPI);
  assert.deepEqual(names.sort(), Object.keys(NOT_IN_UAPI).sort());
  let hz: string;
  try {
    hz = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim();
  } catch {
    return; // getconf is part of libc-bin on every Debian; nothing else to check without it
  }
  assert.equal(Number(hz), M.USER_HZ);
  assert.equal(M.INFINITY_LIFE_TIME, 2 ** 32 - 1);
});
