package io.pvecri.daemon.cgroup;

import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * CRI container resource limits ({@code LinuxContainerResources}), with CRI semantics: 0 or an
 * empty string means "leave unchanged" (at creation: "use the default").
 *
 * @param cpuShares        v1 {@code cpu.shares}; on v2 converted to {@code cpu.weight}
 * @param cpuQuota         CFS quota in microseconds per period; -1 removes the quota
 * @param cpuPeriod        CFS period in microseconds
 * @param memoryLimitBytes hard memory limit; -1 removes the limit. On v1 swap is disabled by
 *                         setting {@code memory.memsw.limit_in_bytes} to the same value
 * @param cpusetCpus       CPUs the container may run on, kernel list syntax ({@code 0-3,6})
 * @param cpusetMems       NUMA memory nodes, kernel list syntax
 * @param unified          raw cgroup v2 files to write (CRI {@code unified}), file name to value;
 *                         only honoured on pure cgroup v2 hosts
 */
public record Resources(
        long cpuShares,
        long cpuQuota,
        long cpuPeriod,
        long memoryLimitBytes,
        String cpusetCpus,
        String cpusetMems,
        Map<String, String> unified) {

    private static final Resources NONE = new Resources(0, 0, 0, 0, "", "", Map.of());

    /** A cgroup v2 interface file name such as {@code memory.high} or {@code hugetlb.2MB.max}. */
    private static final Pattern UNIFIED_KEY = Pattern.compile("[A-Za-z0-9_]+(\\.[A-Za-z0-9_]+)+");

    /** Core files that would move processes or reshape the tree rather than set a limit. */
    private static final Set<String> FORBIDDEN_KEYS = Set.of(
            "cgroup.procs", "cgroup.threads", "cgroup.subtree_control", "cgroup.type",
            "cgroup.kill", "cgroup.freeze");

    /**
     * Validates and normalises: null strings become "", a null map becomes empty, and
     * {@code unified} is copied into an immutable map sorted by key.
     *
     * @throws IllegalArgumentException if a number is out of range, a cpuset list is malformed, a
     *                                  unified key is not a plain cgroup file name, or a unified
     *                                  value is blank or spans lines
     */
    public Resources {
        requireAtLeast("cpuShares", cpuShares, 0);
        requireAtLeast("cpuQuota", cpuQuota, -1);
        requireAtLeast("cpuPeriod", cpuPeriod, 0);
        requireAtLeast("memoryLimitBytes", memoryLimitBytes, -1);
        cpusetCpus = cpuList("cpusetCpus", cpusetCpus);
        cpusetMems = cpuList("cpusetMems", cpusetMems);
        unified = unified(unified);
    }

    /** Nothing to change. */
    public static Resources none() {
        return NONE;
    }

    /** Whether applying these resources would change nothing. */
    public boolean isEmpty() {
        return !hasCpu() && !hasMemory() && !hasCpuset() && unified.isEmpty();
    }

    boolean hasCpu() {
        return cpuShares != 0 || cpuQuota != 0 || cpuPeriod != 0;
    }

    boolean hasMemory() {
        return memoryLimitBytes != 0;
    }

    boolean hasCpuset() {
        return !cpusetCpus.isEmpty() || !cpusetMems.isEmpty();
    }

    /** Whether {@code key} is acceptable as a {@link #unified} file name. */
    static boolean isValidUnifiedKey(String key) {
        return key != null
                && UNIFIED_KEY.matcher(key).matches()
                && !FORBIDDEN_KEYS.contains(key);
    }

    private static void requireAtLeast(String name, long value, long min) {
        if (value < min) {
            throw new IllegalArgumentException(name + " must be >= " + min + ", got " + value);
        }
    }

    private static String cpuList(String name, String value) {
        if (value == null || value.isEmpty()) {
            return "";
        }
        if (!CpuList.isValid(value)) {
            throw new IllegalArgumentException(
                    name + " '" + value + "' is not a CPU list like '0-3,6' (ascending ranges, no spaces)");
        }
        return value;
    }

    private static SortedMap<String, String> unified(Map<String, String> unified) {
        TreeMap<String, String> copy = new TreeMap<>();
        if (unified == null) {
            return Collections.unmodifiableSortedMap(copy);
        }
        for (Map.Entry<String, String> entry : unified.entrySet()) {
            String key = entry.getKey();
            String value = entry.getValue();
            if (!isValidUnifiedKey(key)) {
                throw new IllegalArgumentException("unified cgroup key '" + key
                        + "' must be a plain cgroup v2 file name like 'memory.high'"
                        + " (no '/' or '..', not cgroup.procs/threads/subtree_control/type/kill/freeze)");
            }
            if (value == null || value.isBlank() || value.chars().anyMatch(Character::isISOControl)) {
                throw new IllegalArgumentException("unified cgroup value for '" + key
                        + "' must be non-blank single-line text, got '" + value + "'");
            }
            copy.put(key, value);
        }
        return Collections.unmodifiableSortedMap(copy);
    }
}
