/*
 * pktio: burrow's syscall boundary, a small N-API addon in plain C.
 *
 * It only wraps system calls; every packet rule lives in TypeScript (the ports in src/io). Nothing
 * else in burrow loads it: src/io/native/index.ts does, and gives every function its type.
 *
 * Error convention (one rule per kind of call, never mixed):
 *  - Data path and message calls (readBatch, writeBatch, recvBatch, sendBatch, send, recv) never throw
 *    for a failed system call. They return a count >= 0, or a negative errno (-EAGAIN, -EBADFD, ...);
 *    the batch writers also store the errno of each entry (0 when it went out) in `errors`.
 *  - Control-plane calls (tunOpen, tunSet*, socket, close, setsockopt*, getsockopt*, bind, connect,
 *    getsockname, ioctl, waitReadable, flock, setns, netnsCookie, ifNameToIndex, ifIndexToName,
 *    new Poll, Poll#start) throw an Error whose `code` is the errno name ("EBUSY"), `errno` the negative number (as Node's
 *    own errors have it) and `syscall` the failing call.
 *  - A wrong argument (not a number, offsets outside the buffer) is a bug in the caller: TypeError or
 *    RangeError, thrown before any packet is touched.
 *
 * Allocation: the batch calls allocate nothing per packet. recvmmsg/sendmmsg use mmsghdr, iovec,
 * sockaddr and cmsg arrays of MAX_BATCH entries kept per JS environment (so worker threads are safe).
 *
 * Readiness: a Poll object wraps a libuv uv_poll_t (epoll, level-triggered) and calls JavaScript
 * through napi_make_callback, so promise jobs and nextTicks queued by the handler run after it.
 */
#include <node_api.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <netinet/udp.h>
#include <linux/netlink.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* include/uapi/asm-generic/socket.h, Linux 5.14 */
#endif
#ifndef CLONE_NEWNET
#define CLONE_NEWNET 0x40000000
#endif

#define MAX_BATCH 256
/* Room for IP_PKTINFO and, on sockets with IP_RECVTOS, IP_TOS. */
#define PKTINFO_SPACE (CMSG_SPACE(sizeof(struct in_pktinfo)) + CMSG_SPACE(sizeof(int)))

/* ---------- per-environment scratch arrays for recvmmsg/sendmmsg ---------- */

typedef struct {
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iovs[MAX_BATCH];
  struct sockaddr_in names[MAX_BATCH];
  union {
    char buf[PKTINFO_SPACE];
    struct cmsghdr align;
  } ctl[MAX_BATCH];
} scratch_t;

static void scratch_free(napi_env env, void *data, void *hint) { free(data); }

static scratch_t *scratch(napi_env env) {
  void *s = NULL;
  napi_get_instance_data(env, &s);
  return s;
}

/* ---------- errors ---------- */

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char fallback[16];
  const char *name = strerrorname_np(err);
  if (name == NULL) {
    snprintf(fallback, sizeof fallback, "E%d", err);
    name = fallback;
  }
  char text[200];
  snprintf(text, sizeof text, "%s: %s", syscall, strerror(err));
  napi_value code, message, error, number, call;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, -err, &number);
  napi_set_named_property(env, error, "errno", number);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &call);
  napi_set_named_property(env, error, "syscall", call);
  napi_throw(env, error);
  return NULL;
}

static bool type_error(napi_env env, const char *what, const char *expected) {
  char text[160];
  snprintf(text, sizeof text, "%s must be %s", what, expected);
  napi_throw_type_error(env, NULL, text);
  return false;
}

static bool range_error(napi_env env, const char *what) {
  napi_throw_range_error(env, NULL, what);
  return false;
}

/* ---------- arguments ---------- */

#define ARGS(n)                                                  \
  size_t argc = (n);                                             \
  napi_value argv[(n) > 0 ? (n) : 1];                            \
  napi_value this_arg;                                           \
  napi_get_cb_info(env, info, &argc, argv, &this_arg, NULL);     \
  (void)this_arg

static bool is_type(napi_env env, napi_value v, napi_valuetype want) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == want;
}

static bool arg_i32(napi_env env, napi_value v, const char *what, int32_t *out) {
  if (!is_type(env, v, napi_number)) return type_error(env, what, "a number");
  napi_get_value_int32(env, v, out);
  return true;
}

static bool arg_u32(napi_env env, napi_value v, const char *what, uint32_t *out) {
  if (!is_type(env, v, napi_number)) return type_error(env, what, "a number");
  napi_get_value_uint32(env, v, out);
  return true;
}

static bool arg_count(napi_env env, napi_value v, const char *what, uint32_t *out) {
  int32_t n;
  if (!arg_i32(env, v, what, &n)) return false;
  if (n < 0) return range_error(env, what);
  *out = (uint32_t)n;
  return true;
}

static bool arg_fd(napi_env env, napi_value v, int *fd) {
  int32_t n;
  if (!arg_i32(env, v, "fd", &n)) return false;
  if (n < 0) return range_error(env, "fd must not be negative");
  *fd = n;
  return true;
}

static bool arg_bool(napi_env env, napi_value v, const char *what, bool *out) {
  if (!is_type(env, v, napi_boolean)) return type_error(env, what, "a boolean");
  napi_get_value_bool(env, v, out);
  return true;
}

/* A string into buf (NUL-terminated); longer than cap-1 bytes is a RangeError. */
static bool arg_string(napi_env env, napi_value v, const char *what, char *buf, size_t cap) {
  if (!is_type(env, v, napi_string)) return type_error(env, what, "a string");
  size_t len = 0;
  napi_get_value_string_utf8(env, v, NULL, 0, &len);
  if (len >= cap) return range_error(env, what);
  napi_get_value_string_utf8(env, v, buf, cap, &len);
  return true;
}

static bool arg_typed(napi_env env, napi_value v, const char *what, napi_typedarray_type want,
                      const char *expected, void **data, size_t *length) {
  bool ok = false;
  napi_is_typedarray(env, v, &ok);
  if (!ok) return type_error(env, what, expected);
  napi_typedarray_type type;
  napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL);
  if (type != want) return type_error(env, what, expected);
  if (*data == NULL && *length == 0) *data = (void *)"";  /* empty views may have no store */
  return true;
}

static bool arg_bytes(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  return arg_typed(env, v, what, napi_uint8_array, "a Buffer or Uint8Array", (void **)data, len);
}
static bool arg_u32s(napi_env env, napi_value v, const char *what, uint32_t **data, size_t *len) {
  return arg_typed(env, v, what, napi_uint32_array, "a Uint32Array", (void **)data, len);
}
static bool arg_u16s(napi_env env, napi_value v, const char *what, uint16_t **data, size_t *len) {
  return arg_typed(env, v, what, napi_uint16_array, "a Uint16Array", (void **)data, len);
}
static bool arg_i32s(napi_env env, napi_value v, const char *what, int32_t **data, size_t *len) {
  return arg_typed(env, v, what, napi_int32_array, "an Int32Array", (void **)data, len);
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  return t == napi_undefined || t == napi_null;
}

/* ---------- results ---------- */

static napi_value int_value(napi_env env, int64_t n) {
  napi_value v;
  napi_create_int64(env, n, &v);
  return v;
}

static napi_value bool_value(napi_env env, bool b) {
  napi_value v;
  napi_get_boolean(env, b, &v);
  return v;
}

static napi_value undefined_value(napi_env env) {
  napi_value v;
  napi_get_undefined(env, &v);
  return v;
}

/* ---------- TUN/TAP ---------- */

#define TUN_OPEN_FLAGS (IFF_TUN | IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_TUN_EXCL)

/* tunOpen(name, flags) -> { fd, name }. IFF_NO_PI is always added; name "" or "x%d" lets the kernel pick. */
static napi_value tun_open(napi_env env, napi_callback_info info) {
  ARGS(2);
  char name[IFNAMSIZ];
  uint32_t flags;
  if (!arg_string(env, argv[0], "name", name, sizeof name)) return NULL;
  if (!arg_u32(env, argv[1], "flags", &flags)) return NULL;
  if ((flags & ~(uint32_t)TUN_OPEN_FLAGS) != 0 || ((flags & IFF_TUN) != 0) == ((flags & IFF_TAP) != 0)) {
    range_error(env, "flags must hold IFF_TUN or IFF_TAP, plus IFF_VNET_HDR, IFF_MULTI_QUEUE, IFF_TUN_EXCL");
    return NULL;
  }
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open /dev/net/tun", errno);
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, strlen(name));
  ifr.ifr_flags = (short)(flags | IFF_NO_PI);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "ioctl TUNSETIFF", err);
  }
  ifr.ifr_name[IFNAMSIZ - 1] = 0;
  napi_value result, fd_value, name_value;
  napi_create_object(env, &result);
  napi_create_int32(env, fd, &fd_value);
  napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &name_value);
  napi_set_named_property(env, result, "fd", fd_value);
  napi_set_named_property(env, result, "name", name_value);
  return result;
}

/* The TUN ioctls that take their argument by value. */
static napi_value tun_ioctl_value(napi_env env, napi_callback_info info, unsigned long request,
                                  const char *syscall, bool boolean) {
  ARGS(2);
  int fd;
  uint32_t value = 0;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (boolean) {
    bool b;
    if (!arg_bool(env, argv[1], "value", &b)) return NULL;
    value = b;
  } else if (!arg_u32(env, argv[1], "value", &value)) {
    return NULL;
  }
  if (ioctl(fd, request, (unsigned long)value) < 0) return throw_errno(env, syscall, errno);
  return undefined_value(env);
}

static napi_value tun_set_persist(napi_env env, napi_callback_info info) {
  return tun_ioctl_value(env, info, TUNSETPERSIST, "ioctl TUNSETPERSIST", true);
}

static napi_value tun_set_offload(napi_env env, napi_callback_info info) {
  return tun_ioctl_value(env, info, TUNSETOFFLOAD, "ioctl TUNSETOFFLOAD", false);
}

/* TUNSETLINK changes the ARPHRD type; the kernel refuses it with EBUSY while the device is up. */
static napi_value tun_set_link_type(napi_env env, napi_callback_info info) {
  return tun_ioctl_value(env, info, TUNSETLINK, "ioctl TUNSETLINK", false);
}

static napi_value tun_set_vnet_hdr_size(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  int32_t size;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "size", &size)) return NULL;
  int value = size;
  if (ioctl(fd, TUNSETVNETHDRSZ, &value) < 0) return throw_errno(env, "ioctl TUNSETVNETHDRSZ", errno);
  return undefined_value(env);
}

/* ---------- generic sockets (control plane, netlink) ---------- */

static napi_value socket_open(napi_env env, napi_callback_info info) {
  ARGS(3);
  int32_t domain, type, protocol;
  if (!arg_i32(env, argv[0], "domain", &domain) || !arg_i32(env, argv[1], "type", &type) ||
      !arg_i32(env, argv[2], "protocol", &protocol))
    return NULL;
  int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd < 0) return throw_errno(env, "socket", errno);
  return int_value(env, fd);
}

static napi_value fd_close(napi_env env, napi_callback_info info) {
  ARGS(1);
  int fd;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  /* Linux always releases the descriptor, even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, "close", errno);
  return undefined_value(env);
}

static napi_value setsockopt_int(napi_env env, napi_callback_info info) {
  ARGS(4);
  int fd;
  int32_t level, name, value;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "level", &level) ||
      !arg_i32(env, argv[2], "name", &name) || !arg_i32(env, argv[3], "value", &value))
    return NULL;
  int v = value;
  if (setsockopt(fd, level, name, &v, sizeof v) < 0) return throw_errno(env, "setsockopt", errno);
  return undefined_value(env);
}

static napi_value setsockopt_buf(napi_env env, napi_callback_info info) {
  ARGS(4);
  int fd;
  int32_t level, name;
  uint8_t *data;
  size_t len;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "level", &level) ||
      !arg_i32(env, argv[2], "name", &name) || !arg_bytes(env, argv[3], "value", &data, &len))
    return NULL;
  if (setsockopt(fd, level, name, data, (socklen_t)len) < 0) return throw_errno(env, "setsockopt", errno);
  return undefined_value(env);
}

static napi_value getsockopt_int(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fd;
  int32_t level, name;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "level", &level) ||
      !arg_i32(env, argv[2], "name", &name))
    return NULL;
  int v = 0;
  socklen_t len = sizeof v;
  if (getsockopt(fd, level, name, &v, &len) < 0) return throw_errno(env, "getsockopt", errno);
  return int_value(env, v);
}

static napi_value getsockopt_buf(napi_env env, napi_callback_info info) {
  ARGS(4);
  int fd;
  int32_t level, name;
  uint8_t *data;
  size_t cap;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "level", &level) ||
      !arg_i32(env, argv[2], "name", &name) || !arg_bytes(env, argv[3], "buffer", &data, &cap))
    return NULL;
  socklen_t len = (socklen_t)cap;
  if (getsockopt(fd, level, name, data, &len) < 0) return throw_errno(env, "getsockopt", errno);
  return int_value(env, len);
}

static napi_value sock_bind_or_connect(napi_env env, napi_callback_info info, bool is_bind) {
  ARGS(2);
  int fd;
  uint8_t *addr;
  size_t len;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "sockaddr", &addr, &len)) return NULL;
  int r = is_bind ? bind(fd, (const struct sockaddr *)addr, (socklen_t)len)
                  : connect(fd, (const struct sockaddr *)addr, (socklen_t)len);
  if (r < 0) return throw_errno(env, is_bind ? "bind" : "connect", errno);
  return undefined_value(env);
}

static napi_value sock_bind(napi_env env, napi_callback_info info) {
  return sock_bind_or_connect(env, info, true);
}

static napi_value sock_connect(napi_env env, napi_callback_info info) {
  return sock_bind_or_connect(env, info, false);
}

/* getsockname(fd, buffer) -> length of the sockaddr written into buffer (a netlink port id, a UDP port). */
static napi_value sock_getsockname(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  uint8_t *data;
  size_t cap;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "buffer", &data, &cap)) return NULL;
  socklen_t len = (socklen_t)cap;
  if (getsockname(fd, (struct sockaddr *)data, &len) < 0) return throw_errno(env, "getsockname", errno);
  return int_value(env, len);
}

/* Checks that [offset, offset+length) lies inside a buffer of size cap. */
static bool arg_span(napi_env env, napi_value off_v, napi_value len_v, size_t cap, uint32_t *off,
                     uint32_t *len) {
  if (!arg_count(env, off_v, "offset", off) || !arg_count(env, len_v, "length", len)) return false;
  if ((uint64_t)*off + *len > cap) return range_error(env, "offset + length is outside the buffer");
  return true;
}

/* send(fd, buffer, offset, length) -> bytes sent or -errno. */
static napi_value sock_send(napi_env env, napi_callback_info info) {
  ARGS(4);
  int fd;
  uint8_t *data;
  size_t cap;
  uint32_t off, len;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "buffer", &data, &cap) ||
      !arg_span(env, argv[2], argv[3], cap, &off, &len))
    return NULL;
  ssize_t r;
  do r = send(fd, data + off, len, MSG_DONTWAIT | MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return int_value(env, r < 0 ? -errno : r);
}

/* recv(fd, buffer, offset, length, flags) -> bytes (the datagram's full size with MSG_TRUNC) or -errno. */
static napi_value sock_recv(napi_env env, napi_callback_info info) {
  ARGS(5);
  int fd;
  uint8_t *data;
  size_t cap;
  uint32_t off, len;
  int32_t flags;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "buffer", &data, &cap) ||
      !arg_span(env, argv[2], argv[3], cap, &off, &len) || !arg_i32(env, argv[4], "flags", &flags))
    return NULL;
  ssize_t r;
  do r = recv(fd, data + off, len, flags | MSG_DONTWAIT);
  while (r < 0 && errno == EINTR);
  return int_value(env, r < 0 ? -errno : r);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * waitReadable(fd, timeoutMs) -> true when a read would not block (or an error is pending), false on
 * timeout. It BLOCKS the event loop: only for short synchronous control-plane exchanges (a netlink
 * request and its answer), never on the packet path. timeoutMs < 0 waits for ever.
 */
static napi_value wait_readable(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  int32_t timeout;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "timeoutMs", &timeout)) return NULL;
  int64_t deadline = timeout < 0 ? -1 : now_ms() + timeout;
  for (;;) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int wait = timeout;
    if (deadline >= 0) {
      int64_t left = deadline - now_ms();
      wait = left < 0 ? 0 : (int)left;
    }
    int r = poll(&p, 1, wait);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return throw_errno(env, "poll", errno);
    if (r > 0 && (p.revents & POLLNVAL)) return throw_errno(env, "poll", EBADF);
    return bool_value(env, r > 0);
  }
}

/* ioctl(fd, request, arg): arg is a Buffer (passed by address) or a number (passed by value). */
static napi_value fd_ioctl(napi_env env, napi_callback_info info) {
  ARGS(3);
  int fd;
  uint32_t request;
  if (!arg_fd(env, argv[0], &fd) || !arg_u32(env, argv[1], "request", &request)) return NULL;
  int r;
  if (is_type(env, argv[2], napi_number)) {
    uint32_t value;
    napi_get_value_uint32(env, argv[2], &value);
    r = ioctl(fd, (unsigned long)request, (unsigned long)value);
  } else {
    uint8_t *data;
    size_t len;
    if (!arg_bytes(env, argv[2], "arg", &data, &len)) return NULL;
    r = ioctl(fd, (unsigned long)request, data);
  }
  if (r < 0) return throw_errno(env, "ioctl", errno);
  return int_value(env, r);
}

/* ---------- namespaces, locks, interfaces ---------- */

/* The cookie of the calling thread's network namespace (unique for the boot; SO_NETNS_COOKIE). */
static napi_value netns_cookie(napi_env env, napi_callback_info info) {
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  int r = getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len);
  int err = errno;
  close(fd);
  if (r < 0) return throw_errno(env, "getsockopt SO_NETNS_COOKIE", err);
  napi_value v;
  napi_create_bigint_uint64(env, cookie, &v);
  return v;
}

static napi_value fd_flock(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  int32_t op;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "op", &op)) return NULL;
  int r;
  do r = flock(fd, op);
  while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, "flock", errno);
  return undefined_value(env);
}

/*
 * setns(fd, nstype): moves the CALLING THREAD (Node's main thread) into the namespace of fd. Devices
 * and sockets made afterwards belong to it; libuv's pool threads stay where they were. Tests and the
 * lab use it to open TUN devices and sockets inside namespaces, then switch back.
 */
static napi_value ns_setns(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  int32_t type;
  if (!arg_fd(env, argv[0], &fd) || !arg_i32(env, argv[1], "nstype", &type)) return NULL;
  if (setns(fd, type) < 0) return throw_errno(env, "setns", errno);
  return undefined_value(env);
}

static napi_value if_name_to_index(napi_env env, napi_callback_info info) {
  ARGS(1);
  char name[IFNAMSIZ];
  if (!arg_string(env, argv[0], "name", name, sizeof name)) return NULL;
  unsigned index = if_nametoindex(name);
  if (index == 0) return throw_errno(env, "if_nametoindex", errno);
  return int_value(env, index);
}

static napi_value if_index_to_name(napi_env env, napi_callback_info info) {
  ARGS(1);
  uint32_t index;
  if (!arg_u32(env, argv[0], "index", &index)) return NULL;
  char name[IFNAMSIZ];
  if (if_indextoname(index, name) == NULL) return throw_errno(env, "if_indextoname", errno);
  napi_value v;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* ---------- batched data path ---------- */

typedef struct {
  uint8_t *data;
  size_t data_len;
  uint32_t slot;
  uint32_t headroom;
  uint32_t *offsets, *lengths;
  size_t n_offsets, n_lengths;
} slots_t;

/* Common checks for the read calls: `max` slots must fit in data and in every array. */
static bool arg_slots(napi_env env, napi_value *argv, slots_t *s) {
  if (!arg_bytes(env, argv[0], "data", &s->data, &s->data_len) ||
      !arg_count(env, argv[1], "slotSize", &s->slot) || !arg_count(env, argv[2], "headroom", &s->headroom) ||
      !arg_u32s(env, argv[3], "offsets", &s->offsets, &s->n_offsets) ||
      !arg_u32s(env, argv[4], "lengths", &s->lengths, &s->n_lengths))
    return false;
  if (s->headroom >= s->slot) return range_error(env, "headroom must be smaller than slotSize");
  return true;
}

static bool check_max(napi_env env, const slots_t *s, uint32_t max, size_t other_min) {
  if ((uint64_t)max * s->slot > s->data_len) return range_error(env, "max slots do not fit in data");
  if (max > s->n_offsets || max > s->n_lengths || max > other_min)
    return range_error(env, "max is larger than a result array");
  return true;
}

/*
 * A per-entry header array for TUN/TAP fds opened with IFF_VNET_HDR: `vnet` holds `vnet_len` bytes for
 * each entry (entry i at i * vnet_len), read into or written from its own iovec, so that packets stay
 * where the slots put them. Absent (null/undefined) for fds without the header.
 */
static bool arg_vnet(napi_env env, napi_value *argv, size_t argc, size_t at, uint32_t count, uint8_t **vnet,
                     uint32_t *vnet_len) {
  *vnet = NULL;
  *vnet_len = 0;
  if (argc <= at || is_nullish(env, argv[at])) return true;
  size_t cap;
  if (!arg_bytes(env, argv[at], "vnet", vnet, &cap)) return false;
  if (argc <= at + 1 || !arg_count(env, argv[at + 1], "vnetLength", vnet_len)) {
    if (argc <= at + 1) type_error(env, "vnetLength", "a number");
    return false;
  }
  if (*vnet_len == 0 || *vnet_len > 64) return range_error(env, "vnetLength must be 1..64");
  if ((uint64_t)count * *vnet_len > cap) return range_error(env, "vnet is too small for the entries");
  return true;
}

/*
 * readBatch(fd, data, slotSize, headroom, offsets, lengths, max, errors?, vnet?, vnetLength?) -> n or -errno.
 * read() until EAGAIN or max packets; packet i lands at i*slotSize + headroom. A TUN read cuts a packet
 * larger than the buffer without saying so, so each read gets one spare byte in a last iovec: when it
 * is used the packet did not fit, lengths[i] is the part kept and errors[i] (when given) is EMSGSIZE.
 * With `vnet`, each packet's virtio_net_hdr goes to vnet[i*vnetLength] (a read shorter than the header
 * gives length 0). An error after at least one packet ends the batch early; the next call meets it again.
 */
static napi_value read_batch(napi_env env, napi_callback_info info) {
  ARGS(10);
  int fd;
  slots_t s;
  uint32_t max;
  int32_t *errors = NULL;
  size_t n_err = SIZE_MAX;
  if (!arg_fd(env, argv[0], &fd) || !arg_slots(env, argv + 1, &s) || !arg_count(env, argv[6], "max", &max))
    return NULL;
  if (argc > 7 && !is_nullish(env, argv[7]) && !arg_i32s(env, argv[7], "errors", &errors, &n_err)) return NULL;
  if (!check_max(env, &s, max, n_err)) return NULL;
  uint8_t *vnet;
  uint32_t vnet_len;
  if (!arg_vnet(env, argv, argc, 8, max, &vnet, &vnet_len)) return NULL;
  uint32_t n = 0;
  const size_t room = s.slot - s.headroom;
  uint8_t spare;
  struct iovec iov[3];
  const int data_iov = vnet != NULL ? 1 : 0;
  iov[data_iov].iov_len = room;
  iov[data_iov + 1].iov_base = &spare;
  iov[data_iov + 1].iov_len = 1;
  while (n < max) {
    const size_t off = (size_t)n * s.slot + s.headroom;
    if (vnet != NULL) {
      iov[0].iov_base = vnet + (size_t)n * vnet_len;
      iov[0].iov_len = vnet_len;
    }
    iov[data_iov].iov_base = s.data + off;
    ssize_t r = readv(fd, iov, data_iov + 2);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (n == 0 && errno != EAGAIN) return int_value(env, -errno);
      break;
    }
    size_t got = (size_t)r > vnet_len ? (size_t)r - vnet_len : 0;
    const bool cut = got > room;
    s.offsets[n] = (uint32_t)off;
    s.lengths[n] = (uint32_t)(cut ? room : got);
    if (errors != NULL) errors[n] = cut ? EMSGSIZE : 0;
    n++;
  }
  return int_value(env, n);
}

/* Every entry [offsets[i], offsets[i]+lengths[i]) must lie inside data. */
static bool check_entries(napi_env env, size_t data_len, const uint32_t *offsets, const uint32_t *lengths,
                          uint32_t count) {
  for (uint32_t i = 0; i < count; i++)
    if ((uint64_t)offsets[i] + lengths[i] > data_len)
      return range_error(env, "an entry lies outside data");
  return true;
}

/*
 * writeBatch(fd, data, offsets, lengths, errors, count, vnet?, vnetLength?) -> entries written.
 * One write() per entry (writev() of its header and its bytes with `vnet`); errors[i] = 0 or its errno;
 * a failed entry never stops the next ones.
 */
static napi_value write_batch(napi_env env, napi_callback_info info) {
  ARGS(8);
  int fd;
  uint8_t *data;
  size_t data_len, n_off, n_len, n_err;
  uint32_t *offsets, *lengths, count;
  int32_t *errors;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "data", &data, &data_len) ||
      !arg_u32s(env, argv[2], "offsets", &offsets, &n_off) || !arg_u32s(env, argv[3], "lengths", &lengths, &n_len) ||
      !arg_i32s(env, argv[4], "errors", &errors, &n_err) || !arg_count(env, argv[5], "count", &count))
    return NULL;
  if (count > n_off || count > n_len || count > n_err) {
    range_error(env, "count is larger than an entry array");
    return NULL;
  }
  if (!check_entries(env, data_len, offsets, lengths, count)) return NULL;
  uint8_t *vnet;
  uint32_t vnet_len;
  if (!arg_vnet(env, argv, argc, 6, count, &vnet, &vnet_len)) return NULL;
  uint32_t written = 0;
  for (uint32_t i = 0; i < count; i++) {
    ssize_t r;
    if (vnet != NULL) {
      struct iovec iov[2] = { { vnet + (size_t)i * vnet_len, vnet_len }, { data + offsets[i], lengths[i] } };
      do r = writev(fd, iov, 2);
      while (r < 0 && errno == EINTR);
    } else {
      do r = write(fd, data + offsets[i], lengths[i]);
      while (r < 0 && errno == EINTR);
    }
    errors[i] = r < 0 ? errno : 0;
    if (r >= 0) written++;
  }
  return int_value(env, written);
}

static uint32_t pktinfo_ifindex(struct msghdr *h) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof pi);
      return (uint32_t)pi.ipi_ifindex;
    }
  }
  return 0;
}

/* The outer TOS byte of a datagram (IP_TOS, on sockets with IP_RECVTOS), 0 without one. */
static uint8_t cmsg_tos(struct msghdr *h) {
  for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c != NULL; c = CMSG_NXTHDR(h, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) return *(uint8_t *)CMSG_DATA(c);
  }
  return 0;
}

/*
 * recvBatch(fd, data, slotSize, headroom, offsets, lengths, addrs, ports, ifindexes, max, errors?, tos?)
 *   -> n or -errno.
 * recvmmsg() in chunks of up to 256 until max datagrams or the queue is empty. An error after some
 * datagrams ends the batch early: within a chunk the kernel keeps it for the next call; at the start
 * of a later chunk it is dropped (a socket error is news, not data). addrs/ports: the sender (host
 * order); ifindexes: the ingress interface from IP_PKTINFO (0 unless the socket has IP_PKTINFO on).
 * When `errors` is given, errors[i] is EMSGSIZE for a datagram cut to fit its slot (MSG_TRUNC), else 0.
 * When `tos` (a Uint8Array) is given, tos[i] is the datagram's IP TOS byte (needs IP_RECVTOS), else 0.
 */
static napi_value recv_batch(napi_env env, napi_callback_info info) {
  ARGS(12);
  int fd;
  slots_t s;
  uint32_t *addrs, *ifindexes, max;
  uint16_t *ports;
  int32_t *errors = NULL;
  size_t n_addrs, n_ports, n_ifs, n_err = SIZE_MAX;
  if (!arg_fd(env, argv[0], &fd) || !arg_slots(env, argv + 1, &s) ||
      !arg_u32s(env, argv[6], "addrs", &addrs, &n_addrs) || !arg_u16s(env, argv[7], "ports", &ports, &n_ports) ||
      !arg_u32s(env, argv[8], "ifindexes", &ifindexes, &n_ifs) || !arg_count(env, argv[9], "max", &max))
    return NULL;
  if (argc > 10 && !is_nullish(env, argv[10]) && !arg_i32s(env, argv[10], "errors", &errors, &n_err)) return NULL;
  uint8_t *tos = NULL;
  size_t n_tos = SIZE_MAX;
  if (argc > 11 && !is_nullish(env, argv[11]) && !arg_bytes(env, argv[11], "tos", &tos, &n_tos)) return NULL;
  size_t other = n_addrs < n_ports ? n_addrs : n_ports;
  if (n_ifs < other) other = n_ifs;
  if (n_err < other) other = n_err;
  if (n_tos < other) other = n_tos;
  if (!check_max(env, &s, max, other)) return NULL;

  scratch_t *x = scratch(env);
  const size_t room = s.slot - s.headroom;
  uint32_t done = 0;
  while (done < max) {
    const uint32_t chunk = max - done < MAX_BATCH ? max - done : MAX_BATCH;
    for (uint32_t j = 0; j < chunk; j++) {
      x->iovs[j].iov_base = s.data + (size_t)(done + j) * s.slot + s.headroom;
      x->iovs[j].iov_len = room;
      struct msghdr *h = &x->msgs[j].msg_hdr;
      h->msg_name = &x->names[j];
      h->msg_namelen = sizeof x->names[j];
      h->msg_iov = &x->iovs[j];
      h->msg_iovlen = 1;
      h->msg_control = x->ctl[j].buf;
      h->msg_controllen = sizeof x->ctl[j].buf;
      h->msg_flags = 0;
      x->msgs[j].msg_len = 0;
    }
    int r;
    do r = recvmmsg(fd, x->msgs, chunk, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (done == 0 && errno != EAGAIN) return int_value(env, -errno);
      break;
    }
    for (int j = 0; j < r; j++) {
      const uint32_t i = done + j;
      struct msghdr *h = &x->msgs[j].msg_hdr;
      const struct sockaddr_in *sin = &x->names[j];
      bool inet = h->msg_namelen >= sizeof *sin && sin->sin_family == AF_INET;
      s.offsets[i] = (uint32_t)((size_t)i * s.slot + s.headroom);
      s.lengths[i] = x->msgs[j].msg_len;
      addrs[i] = inet ? ntohl(sin->sin_addr.s_addr) : 0;
      ports[i] = inet ? ntohs(sin->sin_port) : 0;
      ifindexes[i] = pktinfo_ifindex(h);
      if (tos != NULL) tos[i] = cmsg_tos(h);
      if (errors != NULL) errors[i] = (h->msg_flags & MSG_TRUNC) ? EMSGSIZE : 0;
    }
    done += (uint32_t)r;
    if ((uint32_t)r < chunk) break;
  }
  return int_value(env, done);
}

/*
 * sendBatch(fd, data, offsets, lengths, addrs, ports, errors, count) -> entries sent.
 * sendmmsg() to sockaddr_in(addrs[i], ports[i]). sendmmsg stops at the first message that fails and
 * returns only how many went before it; the error itself is not returned (and on the 6.18 kernel this
 * was written on, not left in SO_ERROR either). So the failing message is sent once more on its own
 * with sendmsg() to learn its errno, which goes to errors[i]; then the batch goes on with the next
 * entry. A failing entry therefore costs one extra system call.
 */
static napi_value send_batch(napi_env env, napi_callback_info info) {
  ARGS(8);
  int fd;
  uint8_t *data;
  size_t data_len, n_off, n_len, n_addrs, n_ports, n_err;
  uint32_t *offsets, *lengths, *addrs, count;
  uint16_t *ports;
  int32_t *errors;
  if (!arg_fd(env, argv[0], &fd) || !arg_bytes(env, argv[1], "data", &data, &data_len) ||
      !arg_u32s(env, argv[2], "offsets", &offsets, &n_off) || !arg_u32s(env, argv[3], "lengths", &lengths, &n_len) ||
      !arg_u32s(env, argv[4], "addrs", &addrs, &n_addrs) || !arg_u16s(env, argv[5], "ports", &ports, &n_ports) ||
      !arg_i32s(env, argv[6], "errors", &errors, &n_err) || !arg_count(env, argv[7], "count", &count))
    return NULL;
  if (count > n_off || count > n_len || count > n_addrs || count > n_ports || count > n_err) {
    range_error(env, "count is larger than an entry array");
    return NULL;
  }
  if (!check_entries(env, data_len, offsets, lengths, count)) return NULL;

  scratch_t *x = scratch(env);
  uint32_t sent = 0;
  for (uint32_t base = 0; base < count; base += MAX_BATCH) {
    uint32_t chunk = count - base < MAX_BATCH ? count - base : MAX_BATCH;
    for (uint32_t j = 0; j < chunk; j++) {
      uint32_t i = base + j;
      struct sockaddr_in *sin = &x->names[j];
      memset(sin, 0, sizeof *sin);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(ports[i]);
      sin->sin_addr.s_addr = htonl(addrs[i]);
      x->iovs[j].iov_base = data + offsets[i];
      x->iovs[j].iov_len = lengths[i];
      struct msghdr *h = &x->msgs[j].msg_hdr;
      memset(h, 0, sizeof *h);
      h->msg_name = sin;
      h->msg_namelen = sizeof *sin;
      h->msg_iov = &x->iovs[j];
      h->msg_iovlen = 1;
    }
    uint32_t k = 0;
    while (k < chunk) {
      int r = sendmmsg(fd, x->msgs + k, chunk - k, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (r < 0) {
        if (errno == EINTR) continue;
        errors[base + k] = errno;  /* the first message failed: errno is exact */
        k++;
        continue;
      }
      for (int m = 0; m < r; m++) errors[base + k + m] = 0;
      sent += r;
      k += r;
      if (k < chunk) {
        ssize_t one;
        do one = sendmsg(fd, &x->msgs[k].msg_hdr, MSG_DONTWAIT | MSG_NOSIGNAL);
        while (one < 0 && errno == EINTR);
        errors[base + k] = one < 0 ? errno : 0;
        if (one >= 0) sent++;
        k++;
      }
    }
  }
  return int_value(env, sent);
}

/* ---------- Poll: uv_poll readiness ---------- */

typedef struct {
  uv_poll_t handle;
  napi_env env;
  napi_ref self;      /* weak, made strong while started so the object lives as long as the watch */
  napi_ref callback;
  napi_async_context async;
  int fd;
  bool started;
  bool closing;       /* uv_close called */
  bool closed;        /* the close callback ran */
  bool finalized;     /* the JS object was collected */
} poll_t;

static void poll_on_close(uv_handle_t *h) {
  poll_t *p = h->data;
  p->closed = true;
  if (p->finalized) free(p);
}

static void poll_set_started(poll_t *p, bool on) {
  if (p->started == on) return;
  p->started = on;
  uint32_t count;
  if (on) napi_reference_ref(p->env, p->self, &count);
  else napi_reference_unref(p->env, p->self, &count);
}

/* Stops watching and lets libuv release the handle; drops the callback. Safe to call twice. */
static void poll_shutdown(poll_t *p) {
  if (p->closing) return;
  p->closing = true;
  uv_poll_stop(&p->handle);
  poll_set_started(p, false);
  uv_close((uv_handle_t *)&p->handle, poll_on_close);
  if (p->callback != NULL) {
    napi_delete_reference(p->env, p->callback);
    p->callback = NULL;
  }
  if (p->async != NULL) {
    napi_async_destroy(p->env, p->async);
    p->async = NULL;
  }
}

static void poll_on_event(uv_poll_t *h, int status, int events);

static void poll_finalize(napi_env env, void *data, void *hint) {
  poll_t *p = data;
  p->finalized = true;
  poll_shutdown(p);
  napi_delete_reference(env, p->self);
  p->self = NULL;
  if (p->closed) free(p);
}

/*
 * The callback is called with no arguments when the fd is readable, and with (-errno, fatal) when
 * epoll reports an error:
 *  - a socket with a pending error (an ICMP error such as protocol unreachable sets one): the error is
 *    read and cleared with SO_ERROR, the watch goes on, and fatal is false;
 *  - anything else (a TUN fd whose device was deleted: tun_chr_poll answers EPOLLERR for ever): the
 *    watch stops and fatal is true. libuv has already stopped the handle in both cases.
 */
static void poll_on_event(uv_poll_t *h, int status, int events) {
  poll_t *p = h->data;
  if (p->closing || p->callback == NULL) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value self = NULL, fn = NULL, args[2];
  size_t argc = 0;
  napi_get_reference_value(env, p->self, &self);
  napi_get_reference_value(env, p->callback, &fn);
  if (status < 0) {
    int err = -status;
    bool fatal = true;
    int pending = 0;
    socklen_t len = sizeof pending;
    if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &pending, &len) == 0 && pending != 0) {
      err = pending;
      fatal = uv_poll_start(&p->handle, UV_READABLE, poll_on_event) != 0;
    }
    if (fatal) poll_set_started(p, false);
    napi_create_int32(env, -err, &args[0]);
    napi_get_boolean(env, fatal, &args[1]);
    argc = 2;
  }
  if (self != NULL && fn != NULL) {
    napi_status st = napi_make_callback(env, p->async, self, fn, argc, args, NULL);
    if (st == napi_pending_exception) {
      napi_value exception;
      napi_get_and_clear_last_exception(env, &exception);
      napi_fatal_exception(env, exception);
    }
  }
  napi_close_handle_scope(env, scope);
}

/* new Poll(fd, callback) */
static napi_value poll_new(napi_env env, napi_callback_info info) {
  ARGS(2);
  int fd;
  if (!arg_fd(env, argv[0], &fd)) return NULL;
  if (!is_type(env, argv[1], napi_function)) {
    type_error(env, "callback", "a function");
    return NULL;
  }
  /* libuv aborts the process if epoll_ctl fails later, so refuse a dead fd now. */
  if (fcntl(fd, F_GETFD) < 0) return throw_errno(env, "fcntl", errno);
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
    napi_throw_error(env, NULL, "no event loop");
    return NULL;
  }
  poll_t *p = calloc(1, sizeof *p);
  if (p == NULL) return throw_errno(env, "calloc", ENOMEM);
  p->env = env;
  p->fd = fd;
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    free(p);
    return throw_errno(env, "uv_poll_init", -r);
  }
  p->handle.data = p;
  napi_value name;
  napi_create_string_utf8(env, "burrow:pktio:poll", NAPI_AUTO_LENGTH, &name);
  napi_create_reference(env, argv[1], 1, &p->callback);
  napi_async_init(env, this_arg, name, &p->async);
  napi_wrap(env, this_arg, p, poll_finalize, NULL, &p->self);
  return this_arg;
}

static poll_t *poll_this(napi_env env, napi_callback_info info) {
  napi_value self;
  size_t argc = 0;
  napi_get_cb_info(env, info, &argc, NULL, &self, NULL);
  void *p = NULL;
  if (napi_unwrap(env, self, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, NULL, "not a Poll");
    return NULL;
  }
  return p;
}

static napi_value poll_start(napi_env env, napi_callback_info info) {
  poll_t *p = poll_this(env, info);
  if (p == NULL) return NULL;
  if (p->closing) return throw_errno(env, "uv_poll_start", EBADF);
  if (fcntl(p->fd, F_GETFD) < 0) return throw_errno(env, "fcntl", errno);
  int r = uv_poll_start(&p->handle, UV_READABLE, poll_on_event);
  if (r < 0) return throw_errno(env, "uv_poll_start", -r);
  poll_set_started(p, true);
  return undefined_value(env);
}

static napi_value poll_stop(napi_env env, napi_callback_info info) {
  poll_t *p = poll_this(env, info);
  if (p == NULL) return NULL;
  if (!p->closing) {
    uv_poll_stop(&p->handle);
    poll_set_started(p, false);
  }
  return undefined_value(env);
}

static napi_value poll_close(napi_env env, napi_callback_info info) {
  poll_t *p = poll_this(env, info);
  if (p == NULL) return NULL;
  poll_shutdown(p);
  return undefined_value(env);
}

/* unref(): a started watch no longer keeps the process alive (ref() undoes it). */
static napi_value poll_ref_or_unref(napi_env env, napi_callback_info info, bool ref) {
  poll_t *p = poll_this(env, info);
  if (p == NULL) return NULL;
  if (!p->closing) {
    if (ref) uv_ref((uv_handle_t *)&p->handle);
    else uv_unref((uv_handle_t *)&p->handle);
  }
  return undefined_value(env);
}

static napi_value poll_ref(napi_env env, napi_callback_info info) { return poll_ref_or_unref(env, info, true); }
static napi_value poll_unref(napi_env env, napi_callback_info info) { return poll_ref_or_unref(env, info, false); }

/* ---------- constants from the system headers (so TypeScript never hand-types them) ---------- */

static void set_const(napi_env env, napi_value obj, const char *name, int64_t value) {
  napi_set_named_property(env, obj, name, int_value(env, value));
}

static napi_value make_constants(napi_env env) {
  napi_value c;
  napi_create_object(env, &c);
#define C(name) set_const(env, c, #name, name)
  /* TUN/TAP */
  C(IFF_TUN); C(IFF_TAP); C(IFF_NO_PI); C(IFF_VNET_HDR); C(IFF_MULTI_QUEUE); C(IFF_TUN_EXCL);
  C(TUN_F_CSUM); C(TUN_F_TSO4); C(TUN_F_TSO6); C(TUN_F_TSO_ECN); C(TUN_F_UFO);
  C(VIRTIO_NET_HDR_F_NEEDS_CSUM); C(VIRTIO_NET_HDR_F_DATA_VALID); C(VIRTIO_NET_HDR_GSO_NONE);
  C(VIRTIO_NET_HDR_GSO_TCPV4); C(VIRTIO_NET_HDR_GSO_TCPV6); C(VIRTIO_NET_HDR_GSO_ECN);
  set_const(env, c, "VIRTIO_NET_HDR_SIZE", sizeof(struct virtio_net_hdr));
  C(SOL_UDP); C(UDP_SEGMENT); C(UDP_GRO);
  C(ARPHRD_NONE); C(ARPHRD_ETHER); C(ARPHRD_TUNNEL); C(ARPHRD_SIT); C(ARPHRD_IPGRE);
  /* sockets */
  C(AF_UNIX); C(AF_INET); C(AF_INET6); C(AF_NETLINK); C(AF_PACKET);
  C(SOCK_STREAM); C(SOCK_DGRAM); C(SOCK_RAW);
  C(SOL_SOCKET); C(SO_REUSEADDR); C(SO_ERROR); C(SO_RCVBUF); C(SO_SNDBUF); C(SO_RCVBUFFORCE);
  C(SO_SNDBUFFORCE); C(SO_BINDTODEVICE); C(SO_BINDTOIFINDEX); C(SO_NETNS_COOKIE);
  C(IPPROTO_IP); C(IPPROTO_ICMP); C(IPPROTO_IPIP); C(IPPROTO_TCP); C(IPPROTO_UDP); C(IPPROTO_IPV6);
  C(IPPROTO_GRE); C(IPPROTO_ESP); C(IPPROTO_RAW);
  C(IP_TOS); C(IP_TTL); C(IP_HDRINCL); C(IP_PKTINFO); C(IP_MTU_DISCOVER); C(IP_MTU); C(IP_RECVERR); C(IP_RECVTOS);
  C(IP_PMTUDISC_DONT); C(IP_PMTUDISC_WANT); C(IP_PMTUDISC_DO); C(IP_PMTUDISC_PROBE);
  C(MSG_PEEK); C(MSG_TRUNC); C(MSG_DONTWAIT);
  /* netlink */
  C(NETLINK_ROUTE); C(SOL_NETLINK); C(NETLINK_ADD_MEMBERSHIP); C(NETLINK_DROP_MEMBERSHIP);
  C(NETLINK_CAP_ACK); C(NETLINK_EXT_ACK); C(NETLINK_GET_STRICT_CHK);
  /* locks, namespaces */
  C(LOCK_SH); C(LOCK_EX); C(LOCK_NB); C(LOCK_UN); C(CLONE_NEWNET);
#undef C
  set_const(env, c, "MAX_BATCH", MAX_BATCH);
  return c;
}

/* ---------- module ---------- */

NAPI_MODULE_INIT() {
  scratch_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    napi_throw_error(env, NULL, "pktio: out of memory");
    return NULL;
  }
  napi_set_instance_data(env, s, scratch_free, NULL);

  static const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
    {"tunOpen", tun_open},
    {"tunSetPersist", tun_set_persist},
    {"tunSetOffload", tun_set_offload},
    {"tunSetVnetHdrSize", tun_set_vnet_hdr_size},
    {"tunSetLinkType", tun_set_link_type},
    {"socket", socket_open},
    {"close", fd_close},
    {"setsockoptInt", setsockopt_int},
    {"setsockoptBuf", setsockopt_buf},
    {"getsockoptInt", getsockopt_int},
    {"getsockoptBuf", getsockopt_buf},
    {"bind", sock_bind},
    {"connect", sock_connect},
    {"getsockname", sock_getsockname},
    {"send", sock_send},
    {"recv", sock_recv},
    {"waitReadable", wait_readable},
    {"ioctl", fd_ioctl},
    {"netnsCookie", netns_cookie},
    {"flock", fd_flock},
    {"setns", ns_setns},
    {"ifNameToIndex", if_name_to_index},
    {"ifIndexToName", if_index_to_name},
    {"readBatch", read_batch},
    {"writeBatch", write_batch},
    {"recvBatch", recv_batch},
    {"sendBatch", send_batch},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }

  napi_property_descriptor methods[] = {
    {"start", NULL, poll_start, NULL, NULL, NULL, napi_default_method, NULL},
    {"stop", NULL, poll_stop, NULL, NULL, NULL, napi_default_method, NULL},
    {"close", NULL, poll_close, NULL, NULL, NULL, napi_default_method, NULL},
    {"ref", NULL, poll_ref, NULL, NULL, NULL, napi_default_method, NULL},
    {"unref", NULL, poll_unref, NULL, NULL, NULL, napi_default_method, NULL},
  };
  napi_value poll_class;
  napi_define_class(env, "Poll", NAPI_AUTO_LENGTH, poll_new, NULL, sizeof methods / sizeof methods[0], methods,
                    &poll_class);
  napi_set_named_property(env, exports, "Poll", poll_class);
  napi_set_named_property(env, exports, "constants", make_constants(env));
  return exports;
}
