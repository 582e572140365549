package io.pvecri.daemon.cgroup;

import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/** Reads {@link CgroupStats} from v1 or v2 interface files; missing files read as 0. */
final class StatsReader {

    /** v1 reports "no limit" as LONG_MAX rounded down to a page; anything this large is unlimited. */
    private static final long V1_UNLIMITED = 1L << 62;

    private StatsReader() {
    }

    /**
     * @param cpu    where CPU usage lives: the v1 {@code cpuacct} directory or the unified one
     * @param memory the memory controller's directory
     * @param pids   the pids controller's directory
     */
    static CgroupStats read(Optional<ControllerDir> cpu, Optional<ControllerDir> memory,
            Optional<ControllerDir> pids) {
        long cpuNanos = cpu.map(StatsReader::cpuUsageNanos).orElse(0L);
        long pidsCurrent = pids.map(d -> CgroupFiles.readLong(d.path().resolve("pids.current")).orElse(0))
                .orElse(0L);
        MemoryFigures mem = memory.map(StatsReader::memory).orElse(MemoryFigures.NONE);
        return new CgroupStats(cpuNanos, mem.usage(), Math.max(0, mem.usage() - mem.inactiveFile()),
                mem.rss(), mem.pageFaults(), mem.majorPageFaults(), mem.limit(), mem.oomKills(), pidsCurrent);
    }

    private static long cpuUsageNanos(ControllerDir dir) {
        return switch (dir) {
            case ControllerDir.V1 v1 -> CgroupFiles.readLong(v1.path().resolve("cpuacct.usage")).orElse(0);
            case ControllerDir.V2 v2 -> saturatingTimes1000(
                    CgroupFiles.readKeyed(v2.path().resolve("cpu.stat")).getOrDefault("usage_usec", 0L));
        };
    }

    private static MemoryFigures memory(ControllerDir dir) {
        return switch (dir) {
            case ControllerDir.V1 v1 -> v1Memory(v1.path());
            case ControllerDir.V2 v2 -> v2Memory(v2.path());
        };
    }

    private static MemoryFigures v1Memory(Path dir) {
        Map<String, Long> stat = CgroupFiles.readKeyed(dir.resolve("memory.stat"));
        long limit = CgroupFiles.readLong(dir.resolve("memory.limit_in_bytes")).orElse(0);
        Long oomKill = CgroupFiles.readKeyed(dir.resolve("memory.oom_control")).get("oom_kill");
        return new MemoryFigures(
                CgroupFiles.readLong(dir.resolve("memory.usage_in_bytes")).orElse(0),
                stat.getOrDefault("total_inactive_file", 0L),
                stat.getOrDefault("total_rss", 0L),
                stat.getOrDefault("total_pgfault", 0L),
                stat.getOrDefault("total_pgmajfault", 0L),
                limit >= V1_UNLIMITED || limit < 0 ? 0 : limit,
                oomKill == null ? OptionalLong.empty() : OptionalLong.of(oomKill));
    }

    private static MemoryFigures v2Memory(Path dir) {
        Map<String, Long> stat = CgroupFiles.readKeyed(dir.resolve("memory.stat"));
        Long oomKill = CgroupFiles.readKeyed(dir.resolve("memory.events")).get("oom_kill");
        return new MemoryFigures(
                CgroupFiles.readLong(dir.resolve("memory.current")).orElse(0),
                stat.getOrDefault("inactive_file", 0L),
                stat.getOrDefault("anon", 0L),
                stat.getOrDefault("pgfault", 0L),
                stat.getOrDefault("pgmajfault", 0L),
                CgroupFiles.readLong(dir.resolve("memory.max")).orElse(0), // "max" is not a number
                oomKill == null ? OptionalLong.empty() : OptionalLong.of(oomKill));
    }

    private static long saturatingTimes1000(long micros) {
        return micros > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : micros * 1000;
    }

    private record MemoryFigures(long usage, long inactiveFile, long rss, long pageFaults,
            long majorPageFaults, long limit, OptionalLong oomKills) {
        static final MemoryFigures NONE = new MemoryFigures(0, 0, 0, 0, 0, 0, OptionalLong.empty());
    }
}
