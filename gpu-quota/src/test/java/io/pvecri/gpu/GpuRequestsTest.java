package io.pvecri.gpu;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GpuRequestsTest {

    private static GpuRequest req(Map<String, String> env, Map<String, String> annotations) throws Exception {
        return GpuRequests.request("main", env, annotations);
    }

    private static Map<String, String> visible(String v) {
        return Map.of(GpuRequests.VISIBLE_DEVICES_ENV, v);
    }

    @Test
    void visibleDevicesAsTheToolkitReadsThem() throws Exception {
        assertEquals(new GpuRequest.None(), req(Map.of(), Map.of()));
        assertEquals(new GpuRequest.None(), req(visible(""), Map.of()));
        assertEquals(new GpuRequest.None(), req(visible("void"), Map.of()));
        assertEquals(new GpuRequest.DriverOnly(), req(visible("none"), Map.of()));
        assertEquals(new GpuRequest.AllGpus(), req(visible("ALL"), Map.of()));
        assertEquals(new GpuRequest.WholeDevices(List.of("0", "1")), req(visible("0, 1,0"), Map.of()));
        assertEquals(new GpuRequest.WholeDevices(List.of("GPU-2f6b0c1e-aaaa-bbbb-cccc-0123456789ab", "3")),
                req(visible("GPU-2f6b0c1e-aaaa-bbbb-cccc-0123456789ab,3"), Map.of()));
    }

    @Test
    void badVisibleDevices() {
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> req(visible("0,,1"), Map.of()))
                .getMessage().contains("empty entry"));
        assertTrue(assertThrows(InvalidGpuRequestException.class,
                () -> req(visible("MIG-2f6b0c1e-aaaa"), Map.of())).getMessage().contains("MIG devices are not supported"));
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> req(visible("gpu0"), Map.of()))
                .getMessage().contains("neither a GPU index nor a GPU-<uuid>"));
        assertThrows(InvalidGpuRequestException.class, () -> req(visible("GPU-a/b"), Map.of()));
    }

    @Test
    void sharesAndCounts() throws Exception {
        assertEquals(new GpuRequest.Share(8192, 30), req(Map.of(),
                Map.of(GpuRequests.MEMORY_MIB, "8192", GpuRequests.COMPUTE_PERCENT, "30")));
        assertEquals(new GpuRequest.Share(0, 50), req(Map.of(), Map.of(GpuRequests.COMPUTE_PERCENT, "50")));
        assertEquals(new GpuRequest.Share(4096, 0, Optional.of("1")),
                req(visible("1"), Map.of(GpuRequests.MEMORY_MIB, "4096")));
        assertEquals(new GpuRequest.WholeCount(2), req(Map.of(), Map.of(GpuRequests.COUNT, "2")));
        assertEquals(new GpuRequest.None(), req(Map.of(), Map.of(GpuRequests.COUNT, "0")));
    }

    @Test
    void containerScopedAnnotationsWin() throws Exception {
        Map<String, String> a = Map.of(GpuRequests.MEMORY_MIB, "8192", GpuRequests.MEMORY_MIB + ".sidecar", "0",
                GpuRequests.POLICY, "stop", GpuRequests.POLICY + ".main", "warn");
        assertEquals(new GpuRequest.Share(8192, 0), GpuRequests.request("main", Map.of(), a));
        assertEquals(new GpuRequest.None(), GpuRequests.request("sidecar", Map.of(), a));
        assertEquals(QuotaPolicy.WARN, GpuRequests.quota("main", a, QuotaSettings.DEFAULT).policy());
        assertEquals(QuotaPolicy.STOP, GpuRequests.quota("other", a, QuotaSettings.DEFAULT).policy());
    }

    @Test
    void conflictingAndOutOfRangeAnnotations() {
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> req(Map.of(),
                Map.of(GpuRequests.COUNT, "1", GpuRequests.MEMORY_MIB, "10"))).getMessage().contains("exclude each other"));
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> req(visible("0,1"),
                Map.of(GpuRequests.MEMORY_MIB, "10"))).getMessage().contains("a GPU share is on one GPU"));
        assertThrows(InvalidGpuRequestException.class, () -> req(visible("all"), Map.of(GpuRequests.MEMORY_MIB, "10")));
        assertThrows(InvalidGpuRequestException.class, () -> req(visible("0"), Map.of(GpuRequests.COUNT, "1")));
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> req(Map.of(),
                Map.of(GpuRequests.COMPUTE_PERCENT, "101"))).getMessage().contains("out of range 0..100"));
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> req(Map.of(),
                Map.of(GpuRequests.MEMORY_MIB, "8G"))).getMessage().contains("not a whole number"));
        assertThrows(InvalidGpuRequestException.class, () -> req(Map.of(), Map.of(GpuRequests.MEMORY_MIB, "-1")));
    }

    @Test
    void quotaSettings() throws Exception {
        QuotaSettings defaults = new QuotaSettings(QuotaPolicy.WARN, 5);
        assertEquals(defaults, GpuRequests.quota("main", Map.of(), defaults));
        assertEquals(new QuotaSettings(QuotaPolicy.STOP, 2), GpuRequests.quota("main",
                Map.of(GpuRequests.POLICY, " Stop ", GpuRequests.VIOLATION_WINDOW, "2"), defaults));
        assertTrue(assertThrows(InvalidGpuRequestException.class, () -> GpuRequests.quota("main",
                Map.of(GpuRequests.POLICY, "throttle"), defaults)).getMessage().contains("expected warn or stop"));
        assertThrows(InvalidGpuRequestException.class, () -> GpuRequests.quota("main",
                Map.of(GpuRequests.VIOLATION_WINDOW, "0"), defaults));
    }
}
