package io.pvecri.daemon.gpu;

import io.pvecri.gpu.Nvml;
import io.pvecri.gpu.NvmlException;
import io.pvecri.proto.admin.v1.GpuAllocationInfo;
import io.pvecri.proto.admin.v1.GpuDeviceInfo;
import io.pvecri.proto.admin.v1.ListGpuAllocationsResponse;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** What {@code pve-cri gpus} prints: the GPUs as NVML reports them, and the daemon's allocations. */
public final class GpuTable {
    private static final double MIB = 1024.0 * 1024.0;

    private GpuTable() {}

    /** One GPU read straight from NVML; fields that failed are -1 (or the error is set). */
    public record Device(int index, String uuid, String name, long memoryUsedBytes, long memoryTotalBytes,
                         int utilizationPercent, int temperatureCelsius, int powerMilliwatts, String error) {}

    /** Reads every GPU NVML lists. */
    public static List<Device> read(Nvml nvml) throws NvmlException {
        List<Device> out = new ArrayList<>();
        int count = nvml.deviceCount();
        for (int index = 0; index < count; index++) {
            int i = index;
            try {
                Nvml.Memory m = nvml.memoryInfo(i);
                int util = orMinusOne(() -> nvml.utilizationRates(i).gpuPercent());
                int temp = orMinusOne(() -> nvml.temperatureCelsius(i));
                int power = orMinusOne(() -> nvml.powerUsageMilliwatts(i));
                out.add(new Device(i, nvml.uuid(i), nvml.name(i), m.usedBytes(), m.totalBytes(), util, temp, power, ""));
            } catch (NvmlException e) {
                out.add(new Device(i, "?", "?", -1, -1, -1, -1, -1, e.getMessage()));
            }
        }
        return out;
    }

    private interface IntCall {
        int get() throws NvmlException;
    }

    private static int orMinusOne(IntCall call) {
        try {
            return call.get();
        } catch (NvmlException e) {
            return -1;
        }
    }

    /**
     * Prints the GPU table, then (when the daemon answered) the allocation table.
     *
     * @param absentReason why NVML found no GPUs, or empty
     * @param daemon       the daemon's answer, or empty when no daemon answered
     */
    public static void print(List<Device> devices, Optional<String> absentReason, Optional<ListGpuAllocationsResponse> daemon,
                             String daemonProblem, PrintStream out) {
        Map<String, GpuDeviceInfo> fromDaemon = new HashMap<>();
        Map<String, GpuAllocationInfo> byContainer = new HashMap<>();
        daemon.ifPresent(d -> {
            d.getGpusList().forEach(g -> fromDaemon.put(g.getUuid(), g));
            d.getAllocationsList().forEach(a -> byContainer.put(a.getContainerId(), a));
        });
        if (devices.isEmpty()) {
            out.println("no GPUs" + absentReason.map(r -> ": " + r).orElse(""));
        } else {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"GPU", "UUID", "NAME", "MEM USED/TOTAL", "UTIL", "TEMP", "POWER",
                    daemon.isPresent() ? "HELD BY / FREE FOR SHARES" : ""});
            for (Device d : devices) {
                if (!d.error().isEmpty()) {
                    rows.add(new String[] {Integer.toString(d.index()), "?", "error: " + d.error(), "", "", "", "", ""});
                    continue;
                }
                GpuDeviceInfo g = fromDaemon.get(d.uuid());
                rows.add(new String[] {Integer.toString(d.index()), d.uuid(), d.name(),
                        gib(d.memoryUsedBytes()) + "/" + gib(d.memoryTotalBytes()) + " GiB",
                        d.utilizationPercent() < 0 ? "-" : d.utilizationPercent() + "%",
                        d.temperatureCelsius() < 0 ? "-" : d.temperatureCelsius() + "C",
                        d.powerMilliwatts() < 0 ? "-" : Math.round(d.powerMilliwatts() / 1000.0) + "W",
                        g == null ? (daemon.isPresent() ? "(unknown to the daemon)" : "") : holder(g, byContainer)});
            }
            table(rows, out);
        }
        if (daemon.isEmpty()) {
            out.println();
            out.println("allocations: " + daemonProblem);
            return;
        }
        out.println();
        List<GpuAllocationInfo> allocations = daemon.get().getAllocationsList();
        if (allocations.isEmpty()) {
            out.println("no GPU allocations");
            return;
        }
        Map<String, Integer> indexOf = new HashMap<>();
        daemon.get().getGpusList().forEach(g -> indexOf.put(g.getUuid(), g.getIndex()));
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"CONTAINER", "POD", "NAME", "KIND", "GPU", "MEM USED / SHARE", "COMPUTE / SHARE", "POLICY",
                "VIOLATIONS", "STATE"});
        for (GpuAllocationInfo a : allocations) {
            List<String> gpus = a.getGpuUuidsList().stream()
                    .map(u -> indexOf.containsKey(u) ? Integer.toString(indexOf.get(u)) : u).toList();
            boolean share = a.getKind().equals("share");
            rows.add(new String[] {shortId(a.getContainerId()), a.getNamespace() + "/" + a.getPod(), a.getContainer(),
                    a.getKind(), gpus.isEmpty() ? "-" : String.join(",", gpus),
                    gib(a.getMemoryUsedBytes()) + (share && a.getMemoryMib() > 0 ? " / " + gib(a.getMemoryMib() * 1048576L) : "") + " GiB",
                    String.format(Locale.ROOT, "%.0f%%", a.getComputeUsedPercent())
                            + (share && a.getComputePercent() > 0 ? " / " + a.getComputePercent() + "%" : ""),
                    share ? a.getPolicy() : "-", share ? Long.toString(a.getViolations()) : "-",
                    a.getStopRequested() ? "stopped: " + a.getLastViolation() : ""});
        }
        table(rows, out);
    }

    private static String holder(GpuDeviceInfo g, Map<String, GpuAllocationInfo> byContainer) {
        if (!g.getHeldWholeBy().isEmpty()) {
            GpuAllocationInfo a = byContainer.get(g.getHeldWholeBy());
            return "whole: " + (a == null ? shortId(g.getHeldWholeBy()) : a.getNamespace() + "/" + a.getPod() + "/" + a.getContainer());
        }
        if (g.getShares() == 0) {
            return "idle";
        }
        return g.getShares() + (g.getShares() == 1 ? " share" : " shares") + "; free " + g.getMemoryFreeMib() + " MiB, "
                + g.getComputeFreePercent() + "%";
    }

    private static String shortId(String id) {
        return id.length() > 13 ? id.substring(0, 13) : id;
    }

    private static String gib(long bytes) {
        return bytes < 0 ? "?" : String.format(Locale.ROOT, "%.1f", bytes / MIB / 1024.0);
    }

    private static void table(List<String[]> rows, PrintStream out) {
        int columns = rows.getFirst().length;
        int[] width = new int[columns];
        for (String[] r : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], r[i].length());
            }
        }
        for (String[] r : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                sb.append(r[i]);
                if (i < columns - 1) {
                    sb.append(" ".repeat(width[i] - r[i].length() + 2));
                }
            }
            out.println(sb.toString().stripTrailing());
        }
    }
}
