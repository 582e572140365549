/*
 * A fake libnvidia-ml.so.1 for pve-cri's gpu-quota tests.
 *
 * Exports the NVML entry points that io.pvecri.gpu.NvmlLibrary binds, with the calling
 * conventions and struct layouts of NVIDIA's public nvml.h (API version 12), and a small
 * programming interface (fake_nvml_*) that the tests call through the FFM API to set device
 * count, identities, memory, utilization, processes, temperature, power, and to inject errors.
 *
 * Built by the test build (gpu-quota/pom.xml, phase generate-test-resources):
 *   gcc -shared -fPIC -O2 -Wall -Wextra -Werror -fvisibility=hidden \
 *       -o target/fake-nvml/libnvidia-ml.so.1 src/test/c/fake_nvml.c -lpthread
 * and once more with -DFAKE_NVML_WITHOUT_PROCESS_UTILIZATION into target/fake-nvml-old/ (an
 * older driver without nvmlDeviceGetProcessUtilization).
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define EXPORT __attribute__((visibility("default")))

/* ---- NVML types (layouts as in nvml.h) ------------------------------------------------------ */

typedef int nvmlReturn_t;

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_NO_PERMISSION 4
#define NVML_ERROR_NOT_FOUND 6
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_DRIVER_NOT_LOADED 9
#define NVML_ERROR_LIBRARY_NOT_FOUND 12
#define NVML_ERROR_FUNCTION_NOT_FOUND 13
#define NVML_ERROR_GPU_IS_LOST 15
#define NVML_ERROR_UNKNOWN 999

#define NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE 32
#define NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE 16

typedef struct nvmlDevice_st *nvmlDevice_t;

typedef struct nvmlPciInfo_st {
    char busIdLegacy[NVML_DEVICE_PCI_BUS_ID_BUFFER_V2_SIZE];
    unsigned int domain;
    unsigned int bus;
    unsigned int device;
    unsigned int pciDeviceId;
    unsigned int pciSubSystemId;
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
} nvmlPciInfo_t;

typedef struct nvmlMemory_st {
    unsigned long long total;
    unsigned long long free;
    unsigned long long used;
} nvmlMemory_t;

typedef struct nvmlUtilization_st {
    unsigned int gpu;
    unsigned int memory;
} nvmlUtilization_t;

typedef struct nvmlProcessInfo_v2_st {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId;
    unsigned int computeInstanceId;
} nvmlProcessInfo_t;

typedef struct nvmlProcessUtilizationSample_st {
    unsigned int pid;
    unsigned long long timeStamp;
    unsigned int smUtil;
    unsigned int memUtil;
    unsigned int encUtil;
    unsigned int decUtil;
} nvmlProcessUtilizationSample_t;

/* The Java side hard-codes these layouts; keep the fake honest about them. */
_Static_assert(sizeof(nvmlPciInfo_t) == 68, "nvmlPciInfo_t");
_Static_assert(offsetof(nvmlPciInfo_t, busId) == 36, "nvmlPciInfo_t.busId");
_Static_assert(sizeof(nvmlMemory_t) == 24, "nvmlMemory_t");
_Static_assert(sizeof(nvmlUtilization_t) == 8, "nvmlUtilization_t");
_Static_assert(sizeof(nvmlProcessInfo_t) == 24, "nvmlProcessInfo_t");
_Static_assert(offsetof(nvmlProcessInfo_t, usedGpuMemory) == 8, "nvmlProcessInfo_t.usedGpuMemory");
_Static_assert(offsetof(nvmlProcessInfo_t, gpuInstanceId) == 16, "nvmlProcessInfo_t.gpuInstanceId");
_Static_assert(offsetof(nvmlProcessInfo_t, computeInstanceId) == 20, "nvmlProcessInfo_t.computeInstanceId");
_Static_assert(sizeof(nvmlProcessUtilizationSample_t) == 32, "nvmlProcessUtilizationSample_t");

/* ---- fake state ------------------------------------------------------------------------------ */

#define MAX_DEVICES 16
#define MAX_PROCS 256
#define MAX_ERRORS 32

struct proc {
    unsigned int pid;
    unsigned long long used;
    unsigned int sm;
    unsigned int mem;
};

struct nvmlDevice_st {
    char uuid[96];
    char name[96];
    char busId[NVML_DEVICE_PCI_BUS_ID_BUFFER_SIZE];
    unsigned int minor;
    unsigned long long total;
    unsigned long long used;
    unsigned int utilGpu;
    unsigned int utilMem;
    unsigned int temperature;
    unsigned int powerMw;
    unsigned int nprocs;
    struct proc procs[MAX_PROCS];
};

struct injected {
    char function[64];
    nvmlReturn_t code;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct nvmlDevice_st devices[MAX_DEVICES];
static unsigned int device_count;
static int init_refs;
static long init_calls, shutdown_calls, total_calls;
static struct injected errors[MAX_ERRORS];
static int nerrors;

static nvmlReturn_t injected_error(const char *function)
{
    for (int i = 0; i < nerrors; i++) {
        if (strcmp(errors[i].function, function) == 0) {
            return errors[i].code;
        }
    }
    return NVML_SUCCESS;
}

static void copy_string(char *dst, size_t size, const char *src)
{
    if (src == NULL) {
        src = "";
    }
    size_t n = strlen(src);
    if (n > size - 1) {
        n = size - 1;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Common prologue of every device call: lock, count, injected error, init, handle check. */
#define ENTER_DEVICE(fn, dev)                                                   \
    pthread_mutex_lock(&lock);                                                  \
    total_calls++;                                                              \
    nvmlReturn_t rc_ = injected_error(fn);                                      \
    if (rc_ == NVML_SUCCESS && init_refs == 0) rc_ = NVML_ERROR_UNINITIALIZED;  \
    if (rc_ == NVML_SUCCESS && !valid_handle(dev)) rc_ = NVML_ERROR_INVALID_ARGUMENT; \
    if (rc_ != NVML_SUCCESS) { pthread_mutex_unlock(&lock); return rc_; }

#define LEAVE(rc) do { pthread_mutex_unlock(&lock); return (rc); } while (0)

static int valid_handle(nvmlDevice_t dev)
{
    if (dev == NULL) {
        return 0;
    }
    ptrdiff_t i = dev - devices;
    return i >= 0 && (unsigned int)i < device_count;
}

/* ---- programming interface (called by the tests through FFM) --------------------------------- */

EXPORT void fake_nvml_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(devices, 0, sizeof devices);
    device_count = 0;
    nerrors = 0;
    init_calls = shutdown_calls = total_calls = 0;
    pthread_mutex_unlock(&lock);
}

EXPORT int fake_nvml_set_device_count(unsigned int count)
{
    if (count > MAX_DEVICES) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    device_count = count;
    pthread_mutex_unlock(&lock);
    return 0;
}

EXPORT int fake_nvml_set_device(unsigned int index, const char *uuid, const char *name, unsigned int minor,
                                const char *busId, unsigned long long totalBytes)
{
    if (index >= MAX_DEVICES) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    struct nvmlDevice_st *d = &devices[index];
    copy_string(d->uuid, sizeof d->uuid, uuid);
    copy_string(d->name, sizeof d->name, name);
    copy_string(d->busId, sizeof d->busId, busId);
    d->minor = minor;
    d->total = totalBytes;
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Used device memory; free is derived (total - used) as the driver reports it. */
EXPORT int fake_nvml_set_memory_used(unsigned int index, unsigned long long usedBytes)
{
    if (index >= MAX_DEVICES) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    devices[index].used = usedBytes;
    pthread_mutex_unlock(&lock);
    return 0;
}

EXPORT int fake_nvml_set_utilization(unsigned int index, unsigned int gpu, unsigned int memory)
{
    if (index >= MAX_DEVICES) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    devices[index].utilGpu = gpu;
    devices[index].utilMem = memory;
    pthread_mutex_unlock(&lock);
    return 0;
}

EXPORT int fake_nvml_set_sensors(unsigned int index, unsigned int temperatureC, unsigned int powerMw)
{
    if (index >= MAX_DEVICES) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    devices[index].temperature = temperatureC;
    devices[index].powerMw = powerMw;
    pthread_mutex_unlock(&lock);
    return 0;
}

/*
 * Replaces the compute processes of a device: pids[i] uses usedBytes[i] of device memory and
 * smUtil[i] percent of the SMs (reported by nvmlDeviceGetProcessUtilization).
 */
EXPORT int fake_nvml_set_processes(unsigned int index, unsigned int count, const unsigned int *pids,
                                   const unsigned long long *usedBytes, const unsigned int *smUtil)
{
    if (index >= MAX_DEVICES || count > MAX_PROCS) {
        return -1;
    }
    pthread_mutex_lock(&lock);
    struct nvmlDevice_st *d = &devices[index];
    d->nprocs = count;
    for (unsigned int i = 0; i < count; i++) {
        d->procs[i].pid = pids[i];
        d->procs[i].used = usedBytes[i];
        d->procs[i].sm = smUtil == NULL ? 0 : smUtil[i];
        d->procs[i].mem = 0;
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

/* Makes every call of `function` return `code` until cleared (code 0 clears that function). */
EXPORT int fake_nvml_inject_error(const char *function, int code)
{
    pthread_mutex_lock(&lock);
    for (int i = 0; i < nerrors; i++) {
        if (strcmp(errors[i].function, function) == 0) {
            if (code == NVML_SUCCESS) {
                errors[i] = errors[--nerrors];
            } else {
                errors[i].code = code;
            }
            pthread_mutex_unlock(&lock);
            return 0;
        }
    }
    if (code != NVML_SUCCESS) {
        if (nerrors == MAX_ERRORS) {
            pthread_mutex_unlock(&lock);
            return -1;
        }
        copy_string(errors[nerrors].function, sizeof errors[nerrors].function, function);
        errors[nerrors].code = code;
        nerrors++;
    }
    pthread_mutex_unlock(&lock);
    return 0;
}

EXPORT int fake_nvml_init_refs(void) { return init_refs; }
EXPORT long fake_nvml_init_calls(void) { return init_calls; }
EXPORT long fake_nvml_shutdown_calls(void) { return shutdown_calls; }
EXPORT long fake_nvml_total_calls(void) { return total_calls; }

/* ---- NVML entry points ----------------------------------------------------------------------- */

EXPORT nvmlReturn_t nvmlInit_v2(void)
{
    pthread_mutex_lock(&lock);
    init_calls++;
    total_calls++;
    nvmlReturn_t rc = injected_error("nvmlInit_v2");
    if (rc == NVML_SUCCESS) {
        init_refs++;
    }
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlShutdown(void)
{
    pthread_mutex_lock(&lock);
    shutdown_calls++;
    total_calls++;
    nvmlReturn_t rc = injected_error("nvmlShutdown");
    if (rc == NVML_SUCCESS) {
        if (init_refs == 0) {
            rc = NVML_ERROR_UNINITIALIZED;
        } else {
            init_refs--;
        }
    }
    LEAVE(rc);
}

EXPORT const char *nvmlErrorString(nvmlReturn_t result)
{
    switch (result) {
    case NVML_SUCCESS: return "Success";
    case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
    case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
    case NVML_ERROR_NOT_FOUND: return "Not Found";
    case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
    case NVML_ERROR_LIBRARY_NOT_FOUND: return "Library Not Found";
    case NVML_ERROR_FUNCTION_NOT_FOUND: return "Function Not Found";
    case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
    default: return "Unknown Error";
    }
}

EXPORT nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *deviceCount)
{
    pthread_mutex_lock(&lock);
    total_calls++;
    nvmlReturn_t rc = injected_error("nvmlDeviceGetCount_v2");
    if (rc == NVML_SUCCESS && init_refs == 0) rc = NVML_ERROR_UNINITIALIZED;
    if (rc == NVML_SUCCESS && deviceCount == NULL) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS) *deviceCount = device_count;
    LEAVE(rc);
}

EXPORT nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
    pthread_mutex_lock(&lock);
    total_calls++;
    nvmlReturn_t rc = injected_error("nvmlDeviceGetHandleByIndex_v2");
    if (rc == NVML_SUCCESS && init_refs == 0) rc = NVML_ERROR_UNINITIALIZED;
    if (rc == NVML_SUCCESS && (device == NULL || index >= device_count)) rc = NVML_ERROR_INVALID_ARGUMENT;
    if (rc == NVML_SUCCESS) *device = &devices[index];
    LEAVE(rc);
}

static nvmlReturn_t copy_out(const char *value, char *buf, unsigned int length)
{
    if (buf == NULL) {
        return NVML_ERROR_INVALID_ARGUMENT;
    }
    if (strlen(value) + 1 > length) {
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    memcpy(buf, value, strlen(value) + 1);
    return NVML_SUCCESS;
}

EXPORT nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length)
{
    ENTER_DEVICE("nvmlDeviceGetUUID", device);
    LEAVE(copy_out(device->uuid, uuid, length));
}

EXPORT nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length)
{
    ENTER_DEVICE("nvmlDeviceGetName", device);
    LEAVE(copy_out(device->name, name, length));
}

EXPORT nvmlReturn_t nvmlDeviceGetMinorNumber(nvmlDevice_t device, unsigned int *minorNumber)
{
    ENTER_DEVICE("nvmlDeviceGetMinorNumber", device);
    if (minorNumber == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    *minorNumber = device->minor;
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPciInfo_v3(nvmlDevice_t device, nvmlPciInfo_t *pci)
{
    ENTER_DEVICE("nvmlDeviceGetPciInfo_v3", device);
    if (pci == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    memset(pci, 0, sizeof *pci);
    /* Poison the legacy field so a reader at the wrong offset notices. */
    copy_string(pci->busIdLegacy, sizeof pci->busIdLegacy, "legacy-wrong");
    pci->domain = 0;
    pci->bus = (unsigned int)(device - devices) + 1;
    pci->pciDeviceId = 0x233010deu;
    copy_string(pci->busId, sizeof pci->busId, device->busId);
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory)
{
    ENTER_DEVICE("nvmlDeviceGetMemoryInfo", device);
    if (memory == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    memory->total = device->total;
    memory->used = device->used;
    memory->free = device->total > device->used ? device->total - device->used : 0;
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization)
{
    ENTER_DEVICE("nvmlDeviceGetUtilizationRates", device);
    if (utilization == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    utilization->gpu = device->utilGpu;
    utilization->memory = device->utilMem;
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t device, unsigned int *infoCount,
                                                            nvmlProcessInfo_t *infos)
{
    ENTER_DEVICE("nvmlDeviceGetComputeRunningProcesses_v3", device);
    if (infoCount == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    if (*infoCount < device->nprocs) {
        *infoCount = device->nprocs;
        LEAVE(device->nprocs == 0 ? NVML_SUCCESS : NVML_ERROR_INSUFFICIENT_SIZE);
    }
    if (infos == NULL && device->nprocs > 0) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    for (unsigned int i = 0; i < device->nprocs; i++) {
        infos[i].pid = device->procs[i].pid;
        infos[i].usedGpuMemory = device->procs[i].used;
        infos[i].gpuInstanceId = 0xFFFFFFFFu;   /* not MIG */
        infos[i].computeInstanceId = 0xFFFFFFFFu;
    }
    *infoCount = device->nprocs;
    LEAVE(NVML_SUCCESS);
}

#ifndef FAKE_NVML_WITHOUT_PROCESS_UTILIZATION
static unsigned long long now_micros(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
}

/*
 * As the driver: one sample per process with non-zero utilization, stamped now (a busy process
 * always has a sample newer than the caller's lastSeenTimeStamp); NOT_FOUND when none.
 */
EXPORT nvmlReturn_t nvmlDeviceGetProcessUtilization(nvmlDevice_t device, nvmlProcessUtilizationSample_t *utilization,
                                                    unsigned int *processSamplesCount,
                                                    unsigned long long lastSeenTimeStamp)
{
    ENTER_DEVICE("nvmlDeviceGetProcessUtilization", device);
    if (processSamplesCount == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    unsigned long long now = now_micros();
    unsigned int busy = 0;
    for (unsigned int i = 0; i < device->nprocs; i++) {
        if (device->procs[i].sm > 0 && now > lastSeenTimeStamp) busy++;
    }
    if (busy == 0) LEAVE(NVML_ERROR_NOT_FOUND);
    if (utilization == NULL || *processSamplesCount < busy) {
        *processSamplesCount = busy;
        LEAVE(NVML_ERROR_INSUFFICIENT_SIZE);
    }
    unsigned int n = 0;
    for (unsigned int i = 0; i < device->nprocs; i++) {
        if (device->procs[i].sm > 0) {
            utilization[n].pid = device->procs[i].pid;
            utilization[n].timeStamp = now;
            utilization[n].smUtil = device->procs[i].sm;
            utilization[n].memUtil = device->procs[i].mem;
            utilization[n].encUtil = 0;
            utilization[n].decUtil = 0;
            n++;
        }
    }
    *processSamplesCount = n;
    LEAVE(NVML_SUCCESS);
}
#endif

EXPORT nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensorType, unsigned int *temp)
{
    ENTER_DEVICE("nvmlDeviceGetTemperature", device);
    if (temp == NULL || sensorType != 0) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    *temp = device->temperature;
    LEAVE(NVML_SUCCESS);
}

EXPORT nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power)
{
    ENTER_DEVICE("nvmlDeviceGetPowerUsage", device);
    if (power == NULL) LEAVE(NVML_ERROR_INVALID_ARGUMENT);
    *power = device->powerMw;
    LEAVE(NVML_SUCCESS);
}
