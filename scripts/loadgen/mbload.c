/* mbload: a small Modbus TCP load generator on libmodbus (Debian libmodbus-dev).
 *
 *   mbload HOST PORT CONNECTIONS REGISTERS SECONDS [ADDRESS] [UNIT]
 *
 * Opens CONNECTIONS connections, one thread each; every thread sends FC 3 "read REGISTERS holding
 * registers at ADDRESS" back to back (one outstanding request per connection, like a SCADA poller)
 * for SECONDS seconds. Prints one JSON object: requests, errors, elapsed_s, rps, p50_us, p99_us,
 * max_us (latency = request sent -> response parsed, per request).
 * Build: cc -O2 -o mbload mbload.c $(pkg-config --cflags --libs libmodbus) -lpthread
 */
#include <errno.h>
#include <modbus.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SAMPLES 4000000

typedef struct {
    const char *host;
    int port, regs, addr, unit;
    double seconds;
    long requests, errors;
    uint32_t *lat_us;
    long nlat;
} worker_t;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *run(void *arg) {
    worker_t *w = (worker_t *)arg;
    uint16_t buf[125];
    modbus_t *ctx = modbus_new_tcp(w->host, w->port);
    if (ctx == NULL) { w->errors = -1; return NULL; }
    modbus_set_slave(ctx, w->unit);
    modbus_set_response_timeout(ctx, 2, 0);
    if (modbus_connect(ctx) == -1) { w->errors = -1; modbus_free(ctx); return NULL; }
    double end = now_s() + w->seconds;
    for (;;) {
        double t0 = now_s();
        if (t0 >= end) break;
        int rc = modbus_read_registers(ctx, w->addr, w->regs, buf);
        double t1 = now_s();
        if (rc != w->regs) {
            w->errors++;
            if (errno == EBADF || errno == ECONNRESET || errno == EPIPE) break;
            continue;
        }
        w->requests++;
        if (w->nlat < MAX_SAMPLES) w->lat_us[w->nlat++] = (uint32_t)((t1 - t0) * 1e6);
    }
    modbus_close(ctx);
    modbus_free(ctx);
    return NULL;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS REGISTERS SECONDS [ADDRESS] [UNIT]\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[3]);
    int regs = atoi(argv[4]);
    if (n < 1 || n > 256 || regs < 1 || regs > 125) { fprintf(stderr, "bad arguments\n"); return 2; }
    worker_t *ws = calloc((size_t)n, sizeof(worker_t));
    pthread_t *th = calloc((size_t)n, sizeof(pthread_t));
    long per = MAX_SAMPLES / n;
    for (int i = 0; i < n; i++) {
        ws[i].host = argv[1];
        ws[i].port = atoi(argv[2]);
        ws[i].regs = regs;
        ws[i].seconds = atof(argv[5]);
        ws[i].addr = argc > 6 ? atoi(argv[6]) : 0;
        ws[i].unit = argc > 7 ? atoi(argv[7]) : 1;
        ws[i].lat_us = malloc(sizeof(uint32_t) * (size_t)per);
    }
    double t0 = now_s();
    for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, run, &ws[i]);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;
    long total = 0, errors = 0, nlat = 0;
    for (int i = 0; i < n; i++) {
        total += ws[i].requests;
        errors += ws[i].errors < 0 ? 1 : ws[i].errors;
        nlat += ws[i].nlat;
    }
    uint32_t *all = malloc(sizeof(uint32_t) * (size_t)(nlat > 0 ? nlat : 1));
    long k = 0;
    for (int i = 0; i < n; i++) {
        memcpy(all + k, ws[i].lat_us, sizeof(uint32_t) * (size_t)ws[i].nlat);
        k += ws[i].nlat;
    }
    qsort(all, (size_t)nlat, sizeof(uint32_t), cmp_u32);
    uint32_t p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[(long)(nlat * 0.99)] : 0;
    uint32_t mx = nlat ? all[nlat - 1] : 0;
    printf("{\"requests\": %ld, \"errors\": %ld, \"elapsed_s\": %.3f, \"rps\": %.1f, \"p50_us\": %u, "
           "\"p99_us\": %u, \"max_us\": %u}\n", total, errors, elapsed, total / elapsed, p50, p99, mx);
    return errors && total == 0 ? 1 : 0;
}
