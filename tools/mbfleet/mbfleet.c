/* mbfleet: poll a field of Modbus TCP RTUs like a SCADA master, on libmodbus (Debian libmodbus-dev).
 *
 *   mbfleet TARGETS SECONDS [PERIOD_S] [TIMEOUT_S] [THREADS]
 *
 * TARGETS is a file with one RTU per line: "HOST PORT UNIT START COUNT" (blank lines and lines
 * starting with # are skipped). Every PERIOD_S (default 1 s) each RTU is polled once for its
 * holding registers START .. START+COUNT-1, in FC 3 reads of at most 125 registers, for SECONDS.
 * RTUs on the same HOST PORT (a gateway) share one connection and differ by unit id. Polls are
 * spread evenly over the period; THREADS (default 4) pollers each own a set of connections.
 *
 * A poll is a miss when any of its reads fails (exception, timeout after TIMEOUT_S, default 1 s,
 * connection lost) or when it could not start within its period (the poller fell behind: it
 * skips to the next round instead of piling up). Latency = first request sent -> last response.
 * Prints one JSON object: targets, rounds, polls, ok, misses, errors, late, connects, p50_ms,
 * p90_ms, p99_ms, max_ms, elapsed_s. Exit 0, or 2 for bad arguments / an unreadable file.
 *
 * Build: cc -O2 -Wall -o mbfleet mbfleet.c $(pkg-config --cflags --libs libmodbus) -lpthread
 */
#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_TARGETS 100000
#define MAX_CONNS 100000

typedef struct {
    int conn, unit, start, count;
    double offset; /* s into each period */
} target_t;

typedef struct {
    char host[64];
    int port;
    modbus_t *ctx;
    int connected;
} conn_t;

typedef struct {
    target_t *targets; /* this poller's targets, by offset */
    int ntargets;
    conn_t *conns;
    double t0, period, timeout;
    long rounds;
    long polls, ok, errors, late, connects;
    uint32_t *lat_us;
    long nlat;
} poller_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
    struct timespec ts;
    ts.tv_sec = (time_t)t;
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
}

static int ensure_connected(poller_t *p, conn_t *c) {
    if (c->connected) return 1;
    if (c->ctx == NULL) {
        c->ctx = modbus_new_tcp(c->host, c->port);
        if (c->ctx == NULL) return 0;
        uint32_t sec = (uint32_t)p->timeout, usec = (uint32_t)((p->timeout - sec) * 1e6);
        modbus_set_response_timeout(c->ctx, sec, usec);
    }
    if (modbus_connect(c->ctx) == -1) return 0;
    c->connected = 1;
    p->connects++;
    return 1;
}

static int poll_one(poller_t *p, const target_t *t) {
    uint16_t buf[125];
    conn_t *c = &p->conns[t->conn];
    if (!ensure_connected(p, c)) return 0;
    modbus_set_slave(c->ctx, t->unit);
    for (int a = t->start; a < t->start + t->count; a += 125) {
        int n = t->start + t->count - a < 125 ? t->start + t->count - a : 125;
        if (modbus_read_registers(c->ctx, a, n, buf) != n) {
            if (errno == EBADF || errno == ECONNRESET || errno == EPIPE || errno == ETIMEDOUT) {
                modbus_close(c->ctx); /* a timed-out connection may deliver the late answer: start over */
                c->connected = 0;
            }
            return 0;
        }
    }
    return 1;
}

static void *run(void *arg) {
    poller_t *p = (poller_t *)arg;
    for (long r = 0; r < p->rounds; r++) {
        double base = p->t0 + (double)r * p->period;
        for (int i = 0; i < p->ntargets; i++) {
            const target_t *t = &p->targets[i];
            double slot = base + t->offset;
            p->polls++;
            if (now_s() > slot + p->period) { /* could not start within its period: a miss */
                p->late++;
                continue;
            }
            sleep_until(slot);
            double t0 = now_s();
            if (poll_one(p, t)) {
                p->ok++;
                p->lat_us[p->nlat++] = (uint32_t)((now_s() - t0) * 1e6);
            } else {
                p->errors++;
            }
        }
    }
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static int find_conn(conn_t *conns, int n, const char *host, int port) {
    for (int i = n - 1; i >= 0; i--)
        if (conns[i].port == port && strcmp(conns[i].host, host) == 0) return i;
    return -1;
}

static int read_targets(const char *path, target_t *ts, conn_t *cs, int *nconns) {
    FILE *f = fopen(path, "r");
    if (f == NULL) { fprintf(stderr, "mbfleet: cannot read %s: %s\n", path, strerror(errno)); return -1; }
    char line[256], host[64];
    int n = 0, lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        int port, unit, start, count;
        if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0') continue;
        if (sscanf(line, "%63s %d %d %d %d", host, &port, &unit, &start, &count) != 5 || port < 1 ||
            port > 65535 || unit < 0 || unit > 255 || start < 0 || count < 1 || start + count > 65536 ||
            n >= MAX_TARGETS) {
            fprintf(stderr, "mbfleet: %s:%d: expected HOST PORT UNIT START COUNT\n", path, lineno);
            fclose(f);
            return -1;
        }
        int c = find_conn(cs, *nconns, host, port);
        if (c < 0) {
            c = (*nconns)++;
            snprintf(cs[c].host, sizeof cs[c].host, "%s", host);
            cs[c].port = port;
        }
        ts[n++] = (target_t){c, unit, start, count, 0.0};
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s TARGETS SECONDS [PERIOD_S] [TIMEOUT_S] [THREADS]\n", argv[0]);
        return 2;
    }
    double seconds = atof(argv[2]), period = argc > 3 ? atof(argv[3]) : 1.0;
    double timeout = argc > 4 ? atof(argv[4]) : 1.0;
    int nthreads = argc > 5 ? atoi(argv[5]) : 4;
    if (!(seconds > 0 && seconds <= 86400) || !(period >= 0.01 && period <= 3600) ||
        !(timeout > 0 && timeout <= 60) || nthreads < 1 || nthreads > 256) {
        fprintf(stderr, "mbfleet: bad arguments (0 < SECONDS <= 86400, PERIOD_S >= 0.01, 0 < TIMEOUT_S <= 60, "
                        "1 <= THREADS <= 256)\n");
        return 2;
    }
    target_t *all = calloc(MAX_TARGETS, sizeof(target_t));
    conn_t *conns = calloc(MAX_CONNS, sizeof(conn_t));
    int nconns = 0, n = read_targets(argv[1], all, conns, &nconns);
    if (n <= 0) {
        if (n == 0) fprintf(stderr, "mbfleet: %s has no targets\n", argv[1]);
        return 2;
    }
    if (nthreads > nconns) nthreads = nconns;
    long rounds = (long)floor(seconds / period + 1e-9);
    if (rounds < 1) rounds = 1;
    poller_t *ps = calloc((size_t)nthreads, sizeof(poller_t));
    for (int k = 0; k < nthreads; k++) { /* a connection (and all its units) belongs to one poller */
        ps[k].targets = calloc((size_t)n, sizeof(target_t));
        ps[k].conns = conns;
        ps[k].period = period;
        ps[k].timeout = timeout;
        ps[k].rounds = rounds;
    }
    for (int i = 0; i < n; i++) {
        poller_t *p = &ps[all[i].conn % nthreads];
        target_t t = all[i];
        t.offset = period * (double)i / (double)n; /* spread every poll evenly over the period */
        p->targets[p->ntargets++] = t;
    }
    for (int k = 0; k < nthreads; k++) ps[k].lat_us = calloc((size_t)(ps[k].ntargets * rounds + 1), sizeof(uint32_t));
    pthread_t *th = calloc((size_t)nthreads, sizeof(pthread_t));
    double t0 = now_s() + 0.05;
    for (int k = 0; k < nthreads; k++) {
        ps[k].t0 = t0;
        pthread_create(&th[k], NULL, run, &ps[k]);
    }
    long polls = 0, ok = 0, errors = 0, late = 0, connects = 0, nlat = 0;
    for (int k = 0; k < nthreads; k++) {
        pthread_join(th[k], NULL);
        polls += ps[k].polls, ok += ps[k].ok, errors += ps[k].errors, late += ps[k].late;
        connects += ps[k].connects, nlat += ps[k].nlat;
    }
    double elapsed = now_s() - t0;
    uint32_t *lat = malloc(sizeof(uint32_t) * (size_t)(nlat + 1));
    long j = 0;
    for (int k = 0; k < nthreads; k++) {
        memcpy(lat + j, ps[k].lat_us, sizeof(uint32_t) * (size_t)ps[k].nlat);
        j += ps[k].nlat;
    }
    qsort(lat, (size_t)nlat, sizeof(uint32_t), cmp_u32);
#define PCT(q) (nlat ? lat[(long)((double)(nlat - 1) * (q))] / 1000.0 : 0.0)
    printf("{\"targets\": %d, \"connections\": %d, \"rounds\": %ld, \"polls\": %ld, \"ok\": %ld, \"misses\": %ld, "
           "\"errors\": %ld, \"late\": %ld, \"connects\": %ld, \"p50_ms\": %.3f, \"p90_ms\": %.3f, "
           "\"p99_ms\": %.3f, \"max_ms\": %.3f, \"elapsed_s\": %.3f}\n",
           n, nconns, rounds, polls, ok, errors + late, errors, late, connects, PCT(0.5), PCT(0.9), PCT(0.99),
           PCT(1.0), elapsed);
    return 0;
}
