package io.pvecri.daemon.cgroup;

import java.nio.file.Path;
import java.util.Map;

/** Applies {@link Resources} to a cgroup v2 (unified) directory. */
final class V2Writer {

    private final CgroupWriter out;

    V2Writer(CgroupWriter out) {
        this.out = out;
    }

    /**
     * {@code cpu.weight} converted from shares, and {@code cpu.max} as "quota period" (quota -1:
     * "max"). A period alone keeps the current quota, read from {@code cpu.max}.
     */
    void cpu(Path dir, Resources r) throws CgroupException {
        if (r.cpuShares() != 0) {
            out.write(dir.resolve("cpu.weight"), Long.toString(CpuWeight.fromShares(r.cpuShares())));
        }
        if (r.cpuQuota() == 0 && r.cpuPeriod() == 0) {
            return;
        }
        Path cpuMax = dir.resolve("cpu.max");
        String quota;
        if (r.cpuQuota() > 0) {
            quota = Long.toString(r.cpuQuota());
        } else if (r.cpuQuota() < 0) {
            quota = "max";
        } else {
            quota = CgroupFiles.read(cpuMax).split("\\s+")[0];
        }
        out.write(cpuMax, r.cpuPeriod() != 0 ? quota + " " + r.cpuPeriod() : quota);
    }

    void memory(Path dir, long limitBytes) throws CgroupException {
        out.write(dir.resolve("memory.max"), limitBytes < 0 ? "max" : Long.toString(limitBytes));
    }

    void cpuset(Path dir, String cpus, String mems) throws CgroupException {
        if (!cpus.isEmpty()) {
            out.write(dir.resolve("cpuset.cpus"), cpus);
        }
        if (!mems.isEmpty()) {
            out.write(dir.resolve("cpuset.mems"), mems);
        }
    }

    /** Each key is a file in {@code dir}; keys were validated by {@link Resources}. */
    void unified(Path dir, Map<String, String> files) throws CgroupException {
        for (Map.Entry<String, String> file : files.entrySet()) {
            if (!Resources.isValidUnifiedKey(file.getKey())) {
                throw new CgroupException("refusing unified cgroup key '" + file.getKey()
                        + "': not a plain cgroup file name");
            }
            out.write(dir.resolve(file.getKey()), file.getValue());
        }
    }
}
