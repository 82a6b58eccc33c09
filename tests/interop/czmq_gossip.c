/*  czmq's ZGossip server (the `zgossip` actor of libczmq), for interop tests.

    Usage: czmq_gossip BIND [CONNECT...] [--verbose]
      BIND      endpoint to bind, e.g. tcp://10.99.140.1:31337
      CONNECT   another ZGossip server to share tuples with (repeatable)

    Prints `READY PORT` once bound, then `DELIVER KEY VALUE` for every tuple
    the server learns (as our zgossip_server does), one line each on stdout;
    czmq's logs go to stderr. Runs until SIGTERM or SIGINT, or until stdin
    ends. Build: cc czmq_gossip.c -lczmq -lzmq.  */

#include <czmq.h>
#include <signal.h>

static volatile sig_atomic_t s_terminated = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_terminated = 1;
}

int
main (int argc, char *argv [])
{
    const char *bind = NULL;
    bool verbose = false;
    zlist_t *connects = zlist_new ();
    for (int i = 1; i < argc; i++) {
        if (streq (argv [i], "--verbose"))
            verbose = true;
        else
        if (!bind)
            bind = argv [i];
        else
            zlist_append (connects, argv [i]);
    }
    if (!bind) {
        fprintf (stderr, "usage: czmq_gossip BIND [CONNECT...] [--verbose]\n");
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    zsys_handler_set (NULL);
    struct sigaction action;
    memset (&action, 0, sizeof action);
    action.sa_handler = s_on_signal;
    sigaction (SIGTERM, &action, NULL);
    sigaction (SIGINT, &action, NULL);

    zactor_t *server = zactor_new (zgossip, "czmq");
    if (!server) {
        fprintf (stderr, "czmq_gossip: cannot start the zgossip actor\n");
        return 1;
    }
    if (verbose)
        zstr_send (server, "VERBOSE");
    zstr_sendx (server, "BIND", bind, NULL);
    zstr_sendx (server, "PORT", NULL);
    char *command = NULL, *port = NULL;
    zstr_recvx (server, &command, &port, NULL);
    if (!command || !streq (command, "PORT") || !port || atoi (port) <= 0) {
        fprintf (stderr, "czmq_gossip: cannot bind %s\n", bind);
        return 1;
    }
    printf ("READY %s\n", port);
    fflush (stdout);
    zstr_free (&command);
    zstr_free (&port);
    for (char *peer = (char *) zlist_first (connects); peer; peer = (char *) zlist_next (connects))
        zstr_sendx (server, "CONNECT", peer, NULL);

    zmq_pollitem_t items [2] = {
        { zsock_resolve (server), 0, ZMQ_POLLIN, 0 },
        { NULL, STDIN_FILENO, ZMQ_POLLIN, 0 },
    };
    while (!s_terminated) {
        if (zmq_poll (items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (items [0].revents & ZMQ_POLLIN) {
            char *key = NULL, *value = NULL;
            command = NULL;
            zstr_recvx (server, &command, &key, &value, NULL);
            if (command && streq (command, "DELIVER") && key && value) {
                printf ("DELIVER %s %s\n", key, value);
                fflush (stdout);
            }
            zstr_free (&command);
            zstr_free (&key);
            zstr_free (&value);
        }
        if (items [1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
            char buf [256];
            if (read (STDIN_FILENO, buf, sizeof buf) <= 0)
                break;
        }
    }
    zactor_destroy (&server);
    zlist_destroy (&connects);
    return 0;
}
