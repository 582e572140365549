package io.pvecri.daemon.cgroup;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class ResourcesTest {

    private static Resources unified(String key, String value) {
        Map<String, String> map = new HashMap<>();
        map.put(key, value);
        return new Resources(0, 0, 0, 0, "", "", map);
    }

    @ParameterizedTest
    @ValueSource(strings = {"memory.high", "memory.swap.max", "cpu.max.burst", "hugetlb.2MB.max",
            "io.bfq.weight", "cgroup.max.depth"})
    void acceptsPlainCgroupFileNames(String key) {
        assertEquals(List.of(key), List.copyOf(unified(key, "1").unified().keySet()));
    }

    @ParameterizedTest
    @ValueSource(strings = {"../memory.max", "a/b.max", "memory..max", "..", ".", "memory", "",
            "memory.max/", "/memory.max", "cgroup.procs", "cgroup.kill", "cgroup.subtree_control",
            "memory.high\n", "memory high"})
    void rejectsKeysThatAreNotPlainFileNames(String key) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> unified(key, "1"));
        assertTrue(e.getMessage().contains("plain cgroup v2 file name"), e.getMessage());
    }

    @Test
    void rejectsMultiLineOrBlankValues() {
        assertThrows(IllegalArgumentException.class, () -> unified("memory.high", "1\nlxc.init.cmd = x"));
        assertThrows(IllegalArgumentException.class, () -> unified("memory.high", " "));
        assertThrows(IllegalArgumentException.class, () -> unified("memory.high", null));
    }

    @Test
    void validatesRangesAndCpuLists() {
        assertThrows(IllegalArgumentException.class, () -> new Resources(-1, 0, 0, 0, "", "", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new Resources(0, -2, 0, 0, "", "", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new Resources(0, 0, -1, 0, "", "", Map.of()));
        assertThrows(IllegalArgumentException.class, () -> new Resources(0, 0, 0, -2, "", "", Map.of()));
        for (String bad : List.of("3-1", "0,,1", "a", "0-", "0 1", "1\nx")) {
            assertThrows(IllegalArgumentException.class, () -> new Resources(0, 0, 0, 0, bad, "", Map.of()), bad);
        }
        Resources ok = new Resources(0, -1, 0, -1, "0-3,5", "0", null);
        assertEquals(Map.of(), ok.unified());
        assertFalse(ok.isEmpty());
    }

    @Test
    void nullsBecomeEmptyAndNoneIsEmpty() {
        Resources r = new Resources(0, 0, 0, 0, null, null, null);
        assertEquals(Resources.none(), r);
        assertTrue(r.isEmpty());
    }

    @Test
    void unifiedIsAnImmutableSortedCopy() {
        Map<String, String> source = new HashMap<>(Map.of("memory.high", "1", "cpu.idle", "0"));
        Resources r = new Resources(0, 0, 0, 0, "", "", source);
        source.clear();
        assertEquals(List.of("cpu.idle", "memory.high"), List.copyOf(r.unified().keySet()));
        assertThrows(UnsupportedOperationException.class, () -> r.unified().put("x.y", "1"));
    }

    @Test
    void cpuListCounts() {
        assertEquals(1, CpuList.count("0"));
        assertEquals(7, CpuList.count("0-3,6,8-9"));
        assertEquals(-1, CpuList.count(""));
    }
}
