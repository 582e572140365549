/*
 * gpu-quota's fake libnvidia-ml.so.1 (gpu-quota/src/test/c/fake_nvml.c), programmable from
 * another process through a control file, for the daemon's end-to-end tests (GpuIT): there the
 * library is loaded by the daemon, not by the test, so the fake_nvml_* calls are out of reach.
 *
 * The control file is `fake-nvml.conf` in the directory the library was loaded from. It is read
 * when the library is loaded (so nvmlInit_v2 already sees the devices) and again whenever it
 * changes (a thread checks every 20 ms; write it to a temp file and rename it over). Each read
 * replaces the whole state at once. One command per line, numbers in decimal, '#' comments:
 *
 *   device <index> <minor> <totalBytes> <uuid> <pciBusId> <name ...>   (defines the GPUs, 0..n-1)
 *   memory <index> <usedBytes>
 *   utilization <index> <gpuPercent> <memoryPercent>
 *   sensors <index> <temperatureC> <powerMilliwatts>
 *   process <index> <pid> <usedBytes> <smPercent>                      (one line per process)
 *
 * Built by runtime-daemon/pom.xml (generate-test-resources):
 *   gcc -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden -I../gpu-quota/src/test/c \
 *       -o target/fake-nvml/libnvidia-ml.so.1 src/test/c/fake_nvml_control.c -lpthread
 */
#define _GNU_SOURCE
#include "fake_nvml.c"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char control_path[4096];

static void load_control(void)
{
    FILE *f = fopen(control_path, "r");
    if (f == NULL) {
        return;
    }
    static struct nvmlDevice_st next[MAX_DEVICES];
    memset(next, 0, sizeof next);
    unsigned int count = 0;
    char line[1024];
    while (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char cmd[32];
        unsigned int index;
        int used = 0;
        if (sscanf(line, " %31s %u %n", cmd, &index, &used) < 2 || cmd[0] == '#' || index >= MAX_DEVICES) {
            continue;
        }
        struct nvmlDevice_st *d = &next[index];
        const char *rest = line + used;
        if (strcmp(cmd, "device") == 0) {
            char uuid[96], bus[32];
            int name_at = 0;
            if (sscanf(rest, "%u %llu %95s %31s %n", &d->minor, &d->total, uuid, bus, &name_at) >= 4) {
                copy_string(d->uuid, sizeof d->uuid, uuid);
                copy_string(d->busId, sizeof d->busId, bus);
                copy_string(d->name, sizeof d->name, rest + name_at);
                if (index + 1 > count) {
                    count = index + 1;
                }
            }
        } else if (strcmp(cmd, "memory") == 0) {
            sscanf(rest, "%llu", &d->used);
        } else if (strcmp(cmd, "utilization") == 0) {
            sscanf(rest, "%u %u", &d->utilGpu, &d->utilMem);
        } else if (strcmp(cmd, "sensors") == 0) {
            sscanf(rest, "%u %u", &d->temperature, &d->powerMw);
        } else if (strcmp(cmd, "process") == 0 && d->nprocs < MAX_PROCS) {
            struct proc *p = &d->procs[d->nprocs];
            if (sscanf(rest, "%u %llu %u", &p->pid, &p->used, &p->sm) == 3) {
                d->nprocs++;
            }
        }
    }
    fclose(f);
    pthread_mutex_lock(&lock);
    memcpy(devices, next, sizeof devices);
    device_count = count;
    pthread_mutex_unlock(&lock);
}

static void *watch_control(void *arg)
{
    (void)arg;
    struct stat last;
    memset(&last, 0, sizeof last);
    for (;;) {
        struct stat now;
        if (stat(control_path, &now) == 0
                && (now.st_ino != last.st_ino || now.st_size != last.st_size
                    || now.st_mtim.tv_sec != last.st_mtim.tv_sec || now.st_mtim.tv_nsec != last.st_mtim.tv_nsec)) {
            last = now;
            load_control();
        }
        usleep(20 * 1000);
    }
    return NULL;
}

__attribute__((constructor)) static void start_control(void)
{
    Dl_info info;
    if (dladdr((void *)&start_control, &info) == 0 || info.dli_fname == NULL) {
        return;
    }
    const char *slash = strrchr(info.dli_fname, '/');
    size_t dir = slash == NULL ? 0 : (size_t)(slash - info.dli_fname);
    if (dir + sizeof "/fake-nvml.conf" > sizeof control_path) {
        return;
    }
    if (slash == NULL) {
        strcpy(control_path, "fake-nvml.conf");
    } else {
        memcpy(control_path, info.dli_fname, dir);
        strcpy(control_path + dir, "/fake-nvml.conf");
    }
    load_control();
    pthread_t thread;
    if (pthread_create(&thread, NULL, watch_control, NULL) == 0) {
        pthread_detach(thread);
    }
}
