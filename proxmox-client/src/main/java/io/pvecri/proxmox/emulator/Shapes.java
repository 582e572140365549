package io.pvecri.proxmox.emulator;

import java.util.LinkedHashMap;
import java.util.Map;

/** Response objects shaped like PVE's (field names and types as the Perl handlers return them). */
final class Shapes {

    private Shapes() {
    }

    /** Numbers as JSON numbers, or as strings when emulating 8.0-era nodes. */
    static Object num(long v, boolean asString) {
        return asString ? Long.toString(v) : (Object) v;
    }

    static long mib(String v, long dflt) {
        try {
            return v == null ? dflt : Long.parseLong(v);
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    /** Memory in use: the CT's cgroup when it runs for real, else a plausible constant. */
    private static long memUsed(GuestState g) {
        return g.memUsed >= 0 ? g.memUsed : 50L * 1024 * 1024;
    }

    /** A {@code /cluster/resources} guest row. */
    static Map<String, Object> resource(GuestState g) {
        synchronized (g) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", g.type + "/" + g.vmid);
            m.put("vmid", g.vmid);
            m.put("node", g.node);
            m.put("type", g.type);
            m.put("status", g.config.containsKey("lock") && "create".equals(g.lock()) ? "unknown" : g.running ? "running" : "stopped");
            m.put("name", g.config.getOrDefault("hostname", "CT" + g.vmid));
            m.put("template", g.template() ? 1 : 0);
            m.put("maxcpu", (int) mib(g.config.get("cores"), 1));
            m.put("cpu", 0);
            m.put("maxmem", mib(g.config.get("memory"), 512) * 1024 * 1024);
            m.put("mem", g.running ? memUsed(g) : 0);
            m.put("maxdisk", 4L * 1024 * 1024 * 1024);
            m.put("disk", 0);
            m.put("uptime", g.running ? (System.currentTimeMillis() - g.startedAtMillis) / 1000 : 0);
            m.put("netin", 0);
            m.put("netout", 0);
            m.put("diskread", 0);
            m.put("diskwrite", 0);
            if (g.config.containsKey("tags")) {
                m.put("tags", g.config.get("tags"));
            }
            if (g.lock() != null) {
                m.put("lock", g.lock());
            }
            return m;
        }
    }

    /** {@code status/current} and {@code GET lxc} items. */
    static Map<String, Object> lxcStatus(GuestState g, boolean strings, boolean current) {
        synchronized (g) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("vmid", strings ? Integer.toString(g.vmid) : g.vmid);
            m.put("type", "lxc");
            m.put("status", g.running ? "running" : "stopped");
            m.put("name", g.config.getOrDefault("hostname", "CT" + g.vmid));
            m.put("cpus", (int) mib(g.config.get("cores"), 1));
            m.put("cpu", 0);
            m.put("maxmem", num(mib(g.config.get("memory"), 512) * 1024 * 1024, strings));
            m.put("mem", num(g.running ? memUsed(g) : 0, strings));
            m.put("maxswap", num(mib(g.config.get("swap"), 512) * 1024 * 1024, strings));
            m.put("swap", num(0, strings));
            m.put("maxdisk", num(4L * 1024 * 1024 * 1024, strings));
            m.put("disk", num(g.running ? 300L * 1024 * 1024 : 0, strings));
            m.put("netin", 0);
            m.put("netout", 0);
            m.put("diskread", 0);
            m.put("diskwrite", 0);
            m.put("uptime", g.running ? (System.currentTimeMillis() - g.startedAtMillis) / 1000 : 0);
            if (g.running) {
                m.put("pid", num(g.pid, strings));
            }
            if (g.lock() != null) {
                m.put("lock", g.lock());
            }
            if (g.config.containsKey("tags")) {
                m.put("tags", g.config.get("tags"));
            }
            if (g.template()) {
                m.put("template", 1);
            }
            if (current) {
                m.put("ha", Map.of("managed", 0));
            }
            return m;
        }
    }
}
