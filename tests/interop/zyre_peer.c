/*  A Zyre 2.0.1 (C) peer driven like `zre --json`, for interop tests.

    Reads commands on stdin, one per line:
      /join G, /leave G, /shout G text..., /whisper NAME|UUID text...,
      /shoutx G HEX [HEX...], /whisperx NAME|UUID HEX [HEX...]  (binary
      frames, one per word; - is an empty frame), /require UUID ENDPOINT
      [PUBLICKEY] (zyre_require_peer, DRAFT), /quit (EOF and SIGTERM quit
      too).
    Prints one JSON object per line on stdout, in the schema of `zre --json`:
    READY first, then ENTER, EXIT, JOIN, LEAVE, SHOUT, WHISPER, EVASIVE,
    SILENT, LEADER, STOP. Peer ids are 32 upper-case hex digits; a content
    frame that is not UTF-8 is {"hex": "..."}. Logs (czmq's and ours) go to
    stderr.

    Options (times in milliseconds, as Zyre takes them):
      --name NAME            required
      --iface IFACE          interface for beacons and the inbox (required)
      --header KEY=VALUE     repeatable
      --beacon-port N        UDP beacon port (zyre_set_port), default 5670
      --beacon-interval MS   zyre_set_interval, default Zyre's 1000
      --evasive MS           zyre_set_evasive_timeout, default Zyre's 5000
      --expired MS           zyre_set_expired_timeout, default Zyre's 30000
      --port N               TCP port of the inbox (zyre_set_beacon_peer_port,
                             or the port of zyre_set_endpoint with --gossip);
                             default: a free port. A restarted peer given the
                             same port has the same endpoint.
      --gossip tcp://H:P     gossip discovery only (no beacons): bind the
                             inbox to tcp://IFACE-ADDRESS:PORT
                             (zyre_set_endpoint) and zyre_gossip_connect here
      --contest GROUP        zyre_set_contest_in_group (DRAFT), before
                             zyre_start; repeatable. It does not join the
                             group: /join it (Zyre starts an election when
                             another member joins, and reports LEADER with
                             the winner's uuid, name and the group).
      --curve-cert PATH      CURVE mode (DRAFT): zcert_load (PATH) (czmq's
                             certificate format; PATH is the public file,
                             its PATH_secret is read when there, or the
                             secret file itself), then zyre_set_zcert:
                             v3 beacons, a CURVE-server inbox, CURVE links
                             to peers, gossip values `endpoint|publickey`
      --curve-keygen PATH    CURVE mode with a new certificate: zcert_new,
                             zcert_save (PATH) (writes PATH and
                             PATH_secret), then as --curve-cert
      --gossip-bind ENDPOINT gossip discovery (inbox bound as with --gossip)
                             and zyre_gossip_bind (DRAFT) here: Zyre's
                             node is a ZGossip server that others connect
                             to; may go with --gossip
      --gossip-key KEY       with --gossip: zyre_gossip_connect_curve with
                             this Z85 server key instead of
                             zyre_gossip_connect. (Debian's czmq 4.2.1 is
                             built without its DRAFT API, whose zgossip
                             alone speaks CURVE: there the key is ignored
                             and the gossip link stays plain.)
      --burst-at-enter N     at each ENTER, whisper N messages "burst 0" to
                             "burst N-1" to that peer at once, as an
                             application that greets a peer the moment it
                             appears does (Zyre's perf_remote greets at
                             ENTER): they can reach the peer before it has
                             proven us
      --verbose              zyre_set_verbose

    In CURVE mode READY also has "publickey" (Z85, 40 characters).

    Zyre has no call that returns its own endpoint, so the driver chooses the
    port and reports tcp://IFACE-ADDRESS:PORT, which is what Zyre binds and
    says in its HELLO. Build with -DZYRE_BUILD_DRAFT_API, link -lzyre -lczmq
    -lzmq -lpthread.  */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zyre.h>

static volatile sig_atomic_t s_terminated = 0;

/*  The JSON events: the process's stdout as it started. Its fd 1 itself
    goes to stderr, for czmq writes some logs to stdout whatever
    zsys_set_logstream says (the zgossip actor's errors, for one).  */
static FILE *s_out;

/*  --burst-at-enter: the count, and a pipe by which the event thread hands
    each entered peer's uuid (32 characters) to the command thread, the one
    thread that may use Zyre's actor pipe (zyre_whisper).  */
static int s_burst = 0;
static int s_burst_pipe [2] = {-1, -1};

static void
s_on_sigterm (int sig)
{
    (void) sig;
    s_terminated = 1;
}

static void
die (const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fputs ("zyre_peer: ", stderr);
    vfprintf (stderr, format, args);
    fputc ('\n', stderr);
    va_end (args);
    exit (2);
}

/* ---- JSON output ------------------------------------------------------ */

/*  Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0:
    rejects overlong forms, surrogates and code points above U+10FFFF, as
    Rust's str::from_utf8 and Python's decode do.  */
static size_t
s_utf8_len (const unsigned char *s, size_t n)
{
    unsigned char c = s [0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned int lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else
    if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        if (c == 0xED)
            hi = 0x9F;
    }
    else
    if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F;
    }
    else
        return 0;
    if (n < len || s [1] < lo || s [1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s [i] < 0x80 || s [i] > 0xBF)
            return 0;
    return len;
}

static bool
s_is_utf8 (const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t len = s_utf8_len (s + i, n - i);
        if (!len)
            return false;
        i += len;
    }
    return true;
}

/*  Writes a JSON string; bytes that are not UTF-8 become U+FFFD (content
    frames never get here unless they are UTF-8).  */
static void
s_json_str (FILE *out, const char *text, size_t n)
{
    const unsigned char *s = (const unsigned char *) text;
    fputc ('"', out);
    size_t i = 0;
    while (i < n) {
        unsigned char c = s [i];
        if (c == '"' || c == '\\') {
            fputc ('\\', out);
            fputc (c, out);
            i++;
        }
        else
        if (c < 0x20) {
            fprintf (out, "\\u%04x", c);
            i++;
        }
        else {
            size_t len = s_utf8_len (s + i, n - i);
            if (len) {
                fwrite (s + i, 1, len, out);
                i += len;
            }
            else {
                fputs ("\xEF\xBF\xBD", out);
                i++;
            }
        }
    }
    fputc ('"', out);
}

static void
s_json_cstr (FILE *out, const char *text)
{
    if (text)
        s_json_str (out, text, strlen (text));
    else
        fputs ("\"\"", out);
}

static void
s_json_field (FILE *out, const char *key, const char *value)
{
    fprintf (out, ",\"%s\":", key);
    s_json_cstr (out, value);
}

static void
s_json_content (FILE *out, zmsg_t *msg)
{
    fputs (",\"content\":[", out);
    bool first = true;
    for (zframe_t *frame = msg ? zmsg_first (msg) : NULL; frame; frame = zmsg_next (msg)) {
        if (!first)
            fputc (',', out);
        first = false;
        const unsigned char *data = zframe_data (frame);
        size_t size = zframe_size (frame);
        if (s_is_utf8 (data, size))
            s_json_str (out, (const char *) data, size);
        else {
            fputs ("{\"hex\":\"", out);
            for (size_t i = 0; i < size; i++)
                fprintf (out, "%02x", data [i]);
            fputs ("\"}", out);
        }
    }
    fputc (']', out);
}

/* ---- peers by name ---------------------------------------------------- */

/*  uuid -> name of the peers that entered, to resolve /whisper NAME: written
    by the event thread, read by the command thread.  */
static zhash_t *s_names;
static pthread_mutex_t s_names_lock = PTHREAD_MUTEX_INITIALIZER;

/*  The uuid of the peer called `target`, copied into `uuid`; else `target`
    itself (taken as a uuid).  */
static const char *
s_resolve (const char *target, char uuid [64])
{
    const char *found = target;
    pthread_mutex_lock (&s_names_lock);
    for (char *name = (char *) zhash_first (s_names); name; name = (char *) zhash_next (s_names))
        if (streq (name, target)) {
            snprintf (uuid, 64, "%s", zhash_cursor (s_names));
            found = uuid;
            break;
        }
    pthread_mutex_unlock (&s_names_lock);
    return found;
}

/* ---- events ----------------------------------------------------------- */

static void
s_print_event (zyre_event_t *event)
{
    const char *type = zyre_event_type (event);
    const char *uuid = zyre_event_peer_uuid (event);
    const char *name = zyre_event_peer_name (event);
    if (streq (type, "STOP"))
        return;                 //  Ours, printed after zyre_stop
    fputs ("{\"event\":", s_out);
    s_json_cstr (s_out, type);
    s_json_field (s_out, "peer", uuid);
    s_json_field (s_out, "name", name);
    if (streq (type, "ENTER")) {
        pthread_mutex_lock (&s_names_lock);
        zhash_update (s_names, uuid, strdup (name ? name : ""));
        pthread_mutex_unlock (&s_names_lock);
        if (s_burst > 0 && strlen (uuid) == 32
            && write (s_burst_pipe [1], uuid, 32) != 32)
            die ("cannot hand the burst on: %s", strerror (errno));
        s_json_field (s_out, "endpoint", zyre_event_peer_addr (event));
        fputs (",\"headers\":{", s_out);
        zhash_t *headers = zyre_event_headers (event);
        bool first = true;
        for (char *value = headers ? (char *) zhash_first (headers) : NULL; value;
             value = (char *) zhash_next (headers)) {
            if (!first)
                fputc (',', s_out);
            first = false;
            s_json_cstr (s_out, zhash_cursor (headers));
            fputc (':', s_out);
            s_json_cstr (s_out, value);
        }
        fputc ('}', s_out);
    }
    else
    if (streq (type, "EXIT")) {
        pthread_mutex_lock (&s_names_lock);
        zhash_delete (s_names, uuid);
        pthread_mutex_unlock (&s_names_lock);
    }
    if (streq (type, "JOIN") || streq (type, "LEAVE") || streq (type, "SHOUT")
        || streq (type, "LEADER"))
        s_json_field (s_out, "group", zyre_event_group (event));
    if (streq (type, "SHOUT") || streq (type, "WHISPER"))
        s_json_content (s_out, zyre_event_msg (event));
    fputs ("}\n", s_out);
    fflush (s_out);
}

/*  Prints every event until Zyre's own STOP (after zyre_stop). Events are
    read in a thread of their own so that the node's actor never waits on a
    full event pipe while the command thread waits on a full command pipe:
    a flood of commands and events at once would deadlock a single loop.
    Each of the two zyre sockets is used by one thread only.  */
static void *
s_event_thread (void *arg)
{
    zyre_t *node = (zyre_t *) arg;
    while (true) {
        zyre_event_t *event = zyre_event_new (node);
        if (!event)
            break;
        bool stop = streq (zyre_event_type (event), "STOP");
        s_print_event (event);
        zyre_event_destroy (&event);
        if (stop)
            break;
    }
    return NULL;
}

/* ---- bursts at ENTER --------------------------------------------------- */

/*  Waits until stdin has input, whispering each burst the event thread
    hands on meanwhile; false if interrupted by a signal.  */
static bool
s_send_bursts (zyre_t *node)
{
    while (true) {
        struct pollfd fds [2] = {
            {.fd = STDIN_FILENO, .events = POLLIN},
            {.fd = s_burst_pipe [0], .events = POLLIN},
        };
        if (poll (fds, 2, -1) < 0) {
            if (errno == EINTR)
                return false;
            die ("poll: %s", strerror (errno));
        }
        if (fds [1].revents & POLLIN) {
            char uuid [33] = {0};
            if (read (s_burst_pipe [0], uuid, 32) != 32)
                die ("cannot read the burst pipe: %s", strerror (errno));
            for (int i = 0; i < s_burst; i++)
                zyre_whispers (node, uuid, "burst %d", i);
        }
        if (fds [0].revents)
            return true;
    }
}

/* ---- commands --------------------------------------------------------- */

static int
s_hexval (char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*  The words of `rest` as binary frames (`-` is an empty frame); NULL
    (after saying why) if one is not hex.  */
static zmsg_t *
s_hex_frames (char *rest)
{
    zmsg_t *msg = zmsg_new ();
    char *save = NULL;
    for (char *word = strtok_r (rest, " ", &save); word; word = strtok_r (NULL, " ", &save)) {
        if (streq (word, "-")) {
            zmsg_addmem (msg, NULL, 0);
            continue;
        }
        size_t n = strlen (word);
        if (n % 2) {
            fprintf (stderr, "zyre_peer: odd hex word %.20s...\n", word);
            zmsg_destroy (&msg);
            return NULL;
        }
        unsigned char *bytes = (unsigned char *) malloc (n / 2 + 1);
        for (size_t i = 0; i < n / 2; i++) {
            int hi = s_hexval (word [2 * i]), lo = s_hexval (word [2 * i + 1]);
            if (hi < 0 || lo < 0) {
                fprintf (stderr, "zyre_peer: not hex: %.20s...\n", word);
                free (bytes);
                zmsg_destroy (&msg);
                return NULL;
            }
            bytes [i] = (unsigned char) (hi * 16 + lo);
        }
        zmsg_addmem (msg, bytes, n / 2);
        free (bytes);
    }
    return msg;
}

/*  Splits "first rest..." at the first space: returns first, *rest is the
    remainder ("" if none).  */
static char *
s_split (char *line, char **rest)
{
    char *space = strchr (line, ' ');
    if (space) {
        *space = 0;
        *rest = space + 1;
    }
    else
        *rest = line + strlen (line);
    return line;
}

/*  Runs one command line; false on /quit.  */
static bool
s_command (zyre_t *node, char *line)
{
    size_t n = strlen (line);
    while (n && (line [n - 1] == '\r' || line [n - 1] == ' '))
        line [--n] = 0;
    if (!n)
        return true;
    char *rest;
    char *cmd = s_split (line, &rest);
    if (streq (cmd, "/quit"))
        return false;
    if (streq (cmd, "/join"))
        zyre_join (node, rest);
    else
    if (streq (cmd, "/leave"))
        zyre_leave (node, rest);
    else
    if (streq (cmd, "/shout") || streq (cmd, "/whisper")) {
        char *text;
        char *target = s_split (rest, &text);
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, text, strlen (text));
        char uuid [64];
        if (streq (cmd, "/shout"))
            zyre_shout (node, target, &msg);
        else
            zyre_whisper (node, s_resolve (target, uuid), &msg);
    }
    else
    if (streq (cmd, "/shoutx") || streq (cmd, "/whisperx")) {
        char *words;
        char *target = s_split (rest, &words);
        zmsg_t *msg = s_hex_frames (words);
        char uuid [64];
        if (msg) {
            if (streq (cmd, "/shoutx"))
                zyre_shout (node, target, &msg);
            else
                zyre_whisper (node, s_resolve (target, uuid), &msg);
        }
    }
    else
    if (streq (cmd, "/require")) {
        char *more, *key;
        char *uuid = s_split (rest, &more);
        char *endpoint = s_split (more, &key);
        //  Zyre 2.0.1 asserts a key even in plain mode, where it ignores it.
        if (zyre_require_peer (node, uuid, endpoint, key))
            fprintf (stderr, "zyre_peer: zyre_require_peer %s %s failed\n", uuid, endpoint);
    }
    else
        fprintf (stderr, "zyre_peer: unknown command %s\n", cmd);
    return true;
}

/* ---- setup ------------------------------------------------------------ */

/*  The address of `iface`, as text: IPv4, or IPv6 when czmq runs in IPv6
    mode (ZSYS_IPV6=1, read by zsys_init), preferring a global or ULA
    address to a link-local one as Zyre's users would configure it.  */
static char *
s_iface_address (const char *iface)
{
    struct ifaddrs *list;
    if (getifaddrs (&list))
        die ("getifaddrs: %s", strerror (errno));
    int family = zsys_ipv6 () ? AF_INET6 : AF_INET;
    char *found = NULL, *link_local = NULL;
    for (struct ifaddrs *ifa = list; ifa && !found; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != family || !streq (ifa->ifa_name, iface))
            continue;
        char text [INET6_ADDRSTRLEN];
        if (family == AF_INET) {
            struct sockaddr_in *addr = (struct sockaddr_in *) ifa->ifa_addr;
            inet_ntop (AF_INET, &addr->sin_addr, text, sizeof text);
            found = strdup (text);
        }
        else {
            struct sockaddr_in6 *addr = (struct sockaddr_in6 *) ifa->ifa_addr;
            inet_ntop (AF_INET6, &addr->sin6_addr, text, sizeof text);
            if (IN6_IS_ADDR_LINKLOCAL (&addr->sin6_addr)) {
                if (!link_local)
                    link_local = strdup (text);
            }
            else
                found = strdup (text);
        }
    }
    freeifaddrs (list);
    if (!found)
        found = link_local;
    else
        free (link_local);
    if (!found)
        die ("interface %s has no %s address", iface, family == AF_INET ? "IPv4" : "IPv6");
    return found;
}

/*  A TCP port that is free on `address` of `iface` now (the namespace is
    ours alone, so it stays free until Zyre binds it).  */
static int
s_free_port (const char *address, const char *iface)
{
    struct sockaddr_storage addr;
    memset (&addr, 0, sizeof addr);
    socklen_t len;
    int family = strchr (address, ':') ? AF_INET6 : AF_INET;
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *) &addr;
        in->sin_family = AF_INET;
        inet_pton (AF_INET, address, &in->sin_addr);
        len = sizeof *in;
    }
    else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &addr;
        in6->sin6_family = AF_INET6;
        inet_pton (AF_INET6, address, &in6->sin6_addr);
        in6->sin6_scope_id = if_nametoindex (iface);
        len = sizeof *in6;
    }
    int fd = socket (family, SOCK_STREAM, 0);
    if (fd < 0 || bind (fd, (struct sockaddr *) &addr, len)
        || getsockname (fd, (struct sockaddr *) &addr, &len))
        die ("cannot find a free port on %s: %s", address, strerror (errno));
    close (fd);
    return family == AF_INET
        ? ntohs (((struct sockaddr_in *) &addr)->sin_port)
        : ntohs (((struct sockaddr_in6 *) &addr)->sin6_port);
}

static int
s_number (const char *option, const char *value)
{
    char *end;
    long n = strtol (value, &end, 10);
    if (*end || n < 0 || n > 100000000)
        die ("%s: not a number: %s", option, value);
    return (int) n;
}

int
main (int argc, char *argv [])
{
    const char *name = NULL, *iface = NULL, *gossip = NULL, *gossip_bind = NULL;
    const char *curve_cert = NULL, *curve_keygen = NULL, *gossip_key = NULL;
    int beacon_port = 5670, interval = -1, evasive = -1, expired = -1, port = 0;
    bool verbose = false;
    zlist_t *headers = zlist_new ();
    zlist_t *contests = zlist_new ();
    for (int i = 1; i < argc; i++) {
        const char *opt = argv [i];
        if (streq (opt, "--verbose")) {
            verbose = true;
            continue;
        }
        if (i + 1 >= argc)
            die ("%s needs a value", opt);
        const char *value = argv [++i];
        if (streq (opt, "--name"))
            name = value;
        else
        if (streq (opt, "--iface"))
            iface = value;
        else
        if (streq (opt, "--header")) {
            if (!strchr (value, '='))
                die ("--header %s: expected KEY=VALUE", value);
            zlist_append (headers, (void *) value);
        }
        else
        if (streq (opt, "--contest"))
            zlist_append (contests, (void *) value);
        else
        if (streq (opt, "--beacon-port"))
            beacon_port = s_number (opt, value);
        else
        if (streq (opt, "--beacon-interval"))
            interval = s_number (opt, value);
        else
        if (streq (opt, "--evasive"))
            evasive = s_number (opt, value);
        else
        if (streq (opt, "--expired"))
            expired = s_number (opt, value);
        else
        if (streq (opt, "--port"))
            port = s_number (opt, value);
        else
        if (streq (opt, "--gossip"))
            gossip = value;
        else
        if (streq (opt, "--gossip-bind"))
            gossip_bind = value;
        else
        if (streq (opt, "--curve-cert"))
            curve_cert = value;
        else
        if (streq (opt, "--curve-keygen"))
            curve_keygen = value;
        else
        if (streq (opt, "--gossip-key"))
            gossip_key = value;
        else
        if (streq (opt, "--burst-at-enter"))
            s_burst = s_number (opt, value);
        else
            die ("unknown option %s", opt);
    }
    if (!name || !iface)
        die ("usage: zyre_peer --name NAME --iface IFACE [options]");
    if (curve_cert && curve_keygen)
        die ("--curve-cert and --curve-keygen exclude each other");
    if (gossip_key && !gossip)
        die ("--gossip-key needs --gossip");

    int json_fd = dup (STDOUT_FILENO);
    if (json_fd < 0 || dup2 (STDERR_FILENO, STDOUT_FILENO) < 0
        || !(s_out = fdopen (json_fd, "w")))
        die ("cannot set up stdout: %s", strerror (errno));

    //  czmq logs to stdout by default and catches SIGINT/SIGTERM itself
    //  (ending its actors without a goodbye): logs to stderr, and SIGTERM
    //  is ours, a clean stop. Only the command thread takes the signals
    //  (the others, czmq's and libzmq's too, inherit them blocked), so that
    //  its read of stdin is the call they interrupt.
    sigset_t signals;
    sigemptyset (&signals);
    sigaddset (&signals, SIGTERM);
    sigaddset (&signals, SIGINT);
    pthread_sigmask (SIG_BLOCK, &signals, NULL);
    zsys_init ();
    zsys_set_logstream (stderr);
    zsys_handler_set (NULL);
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_sigterm;
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    char *address = s_iface_address (iface);
    if (!port)
        port = s_free_port (address, iface);
    s_names = zhash_new ();
    zhash_autofree (s_names);

    zyre_t *node = zyre_new (name);
    if (!node)
        die ("zyre_new failed");
    if (verbose)
        zyre_set_verbose (node);
    for (char *header = (char *) zlist_first (headers); header; header = (char *) zlist_next (headers)) {
        char *eq = strchr (header, '=');
        *eq = 0;
        zyre_set_header (node, header, "%s", eq + 1);
    }
    for (char *group = (char *) zlist_first (contests); group; group = (char *) zlist_next (contests))
        zyre_set_contest_in_group (node, group);
    //  Before the inbox is bound (zyre_set_endpoint or zyre_start): Zyre
    //  makes it a CURVE server when it binds it.
    zcert_t *cert = NULL;
    if (curve_keygen) {
        cert = zcert_new ();
        if (!cert || zcert_save (cert, curve_keygen))
            die ("cannot write the certificate %s", curve_keygen);
    }
    else
    if (curve_cert) {
        cert = zcert_load (curve_cert);
        if (!cert)
            die ("cannot load the certificate %s", curve_cert);
        if (streq (zcert_secret_txt (cert), "0000000000000000000000000000000000000000"))
            die ("%s holds no secret key", curve_cert);
    }
    if (cert) {
        if (!zsys_has_curve ())
            die ("this libzmq has no CURVE");
        zyre_set_zcert (node, cert);
    }
    zyre_set_interface (node, iface);
    zyre_set_port (node, beacon_port);
    if (interval >= 0)
        zyre_set_interval (node, (size_t) interval);
    if (evasive >= 0)
        zyre_set_evasive_timeout (node, evasive);
    if (expired >= 0)
        zyre_set_expired_timeout (node, expired);
    //  IPv6 endpoints as Zyre writes them: in brackets, no scope.
    char *endpoint = strchr (address, ':')
        ? zsys_sprintf ("tcp://[%s]:%d", address, port)
        : zsys_sprintf ("tcp://%s:%d", address, port);
    if (gossip || gossip_bind) {
        if (zyre_set_endpoint (node, "%s", endpoint))
            die ("cannot bind %s", endpoint);
        if (gossip_bind)
            zyre_gossip_bind (node, "%s", gossip_bind);
    }
    if (gossip) {
        if (gossip_key)
            zyre_gossip_connect_curve (node, gossip_key, "%s", gossip);
        else
            zyre_gossip_connect (node, "%s", gossip);
    }
    else
    if (!gossip_bind)
        zyre_set_beacon_peer_port (node, port);
    if (zyre_start (node))
        die ("zyre_start failed");

    fputs ("{\"event\":\"READY\"", s_out);
    s_json_field (s_out, "peer", zyre_uuid (node));
    s_json_field (s_out, "name", zyre_name (node));
    s_json_field (s_out, "endpoint", endpoint);
    if (cert)
        s_json_field (s_out, "publickey", zcert_public_txt (cert));
    fputs ("}\n", s_out);
    fflush (s_out);

    if (s_burst > 0 && pipe (s_burst_pipe))
        die ("cannot make the burst pipe: %s", strerror (errno));
    pthread_t events;
    if (pthread_create (&events, NULL, s_event_thread, node))
        die ("cannot start the event thread");
    pthread_sigmask (SIG_UNBLOCK, &signals, NULL);

    size_t cap = 1 << 16, used = 0;
    char *buffer = (char *) malloc (cap);
    bool running = true;
    while (running && !s_terminated) {
        if (cap - used < 4096) {
            cap *= 2;
            buffer = (char *) realloc (buffer, cap);
        }
        if (s_burst > 0 && !s_send_bursts (node))
            continue;           //  Interrupted: look at s_terminated
        ssize_t got = read (STDIN_FILENO, buffer + used, cap - used - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;              //  EOF: quit
        used += (size_t) got;
        char *start = buffer;
        char *newline;
        while (running && (newline = (char *) memchr (start, '\n', used - (size_t) (start - buffer)))) {
            *newline = 0;
            running = s_command (node, start);
            start = newline + 1;
        }
        used -= (size_t) (start - buffer);
        memmove (buffer, start, used);
    }
    zyre_stop (node);
    pthread_join (events, NULL);
    zyre_destroy (&node);
    fputs ("{\"event\":\"STOP\"}\n", s_out);
    fflush (s_out);
    free (buffer);
    free (endpoint);
    free (address);
    zhash_destroy (&s_names);
    zcert_destroy (&cert);
    zlist_destroy (&headers);
    zlist_destroy (&contests);
    return 0;
}
