package io.pvecri.daemon.cgroup;

import java.nio.file.Files;
import java.nio.file.Path;

/** Applies {@link Resources} to cgroup v1 controller directories. */
final class V1Writer {

    private final CgroupWriter out;

    V1Writer(CgroupWriter out) {
        this.out = out;
    }

    /**
     * {@code cpu.shares}, then {@code cpu.cfs_period_us}, then {@code cpu.cfs_quota_us}. The kernel
     * may reject a smaller period while the old quota is in place (old quota/new period would exceed
     * the parent's bandwidth); then the period is retried after the quota, as runc does.
     */
    void cpu(Path dir, Resources r) throws CgroupException {
        if (r.cpuShares() != 0) {
            out.write(dir.resolve("cpu.shares"), Long.toString(r.cpuShares()));
        }
        Path period = dir.resolve("cpu.cfs_period_us");
        boolean retryPeriod = false;
        if (r.cpuPeriod() != 0) {
            try {
                out.write(period, Long.toString(r.cpuPeriod()));
            } catch (CgroupException e) {
                if (r.cpuQuota() == 0) {
                    throw e;
                }
                retryPeriod = true;
            }
        }
        if (r.cpuQuota() != 0) {
            out.write(dir.resolve("cpu.cfs_quota_us"), Long.toString(r.cpuQuota()));
            if (retryPeriod) {
                out.write(period, Long.toString(r.cpuPeriod()));
            }
        }
    }

    /**
     * {@code memory.limit_in_bytes}, with swap disabled by setting
     * {@code memory.memsw.limit_in_bytes} (when swap accounting exists) to the same value. The
     * kernel requires limit &lt;= memsw at every step, so when the new value is below the current
     * memsw limit the plain limit goes first, otherwise memsw goes first.
     */
    void memory(Path dir, long limitBytes) throws CgroupException {
        Path limit = dir.resolve("memory.limit_in_bytes");
        Path memsw = dir.resolve("memory.memsw.limit_in_bytes");
        String value = Long.toString(limitBytes);
        if (!Files.exists(memsw)) {
            out.write(limit, value);
            return;
        }
        long currentMemsw = CgroupFiles.parseLong(CgroupFiles.read(memsw)).orElse(Long.MAX_VALUE);
        long target = limitBytes < 0 ? Long.MAX_VALUE : limitBytes;
        if (target < currentMemsw) {
            out.write(limit, value);
            out.write(memsw, value);
        } else {
            out.write(memsw, value);
            out.write(limit, value);
        }
    }

    void cpuset(Path dir, String cpus, String mems) throws CgroupException {
        if (!cpus.isEmpty()) {
            out.write(dir.resolve("cpuset.cpus"), cpus);
        }
        if (!mems.isEmpty()) {
            out.write(dir.resolve("cpuset.mems"), mems);
        }
    }
}
