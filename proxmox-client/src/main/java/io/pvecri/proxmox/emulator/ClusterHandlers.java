package io.pvecri.proxmox.emulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static io.pvecri.proxmox.emulator.ParamSchema.Kind.INTEGER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.STRING;

/** {@code /version}, {@code /nodes}, {@code /cluster/nextid}, {@code /cluster/resources}. */
final class ClusterHandlers {

    private final EmulatorConfig config;
    private final EmulatedCluster cluster;
    private final Faults faults;
    private final String fingerprint;

    ClusterHandlers(EmulatorConfig config, EmulatedCluster cluster, Faults faults, String fingerprint) {
        this.config = config;
        this.cluster = cluster;
        this.faults = faults;
        this.fingerprint = fingerprint;
    }

    void register(Router r) {
        r.route("GET", "/version", ParamSchema.of(), c -> Reply.of(version()));
        r.route("GET", "/nodes", ParamSchema.of(), c -> Reply.of(nodes()));
        r.route("GET", "/cluster/nextid", ParamSchema.of().opt("vmid", INTEGER, 100, 999_999_999), this::nextId);
        r.route("GET", "/cluster/resources", ParamSchema.of().opt("type", STRING), this::resources);
    }

    private Map<String, Object> version() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("version", config.version());
        String[] parts = config.version().split("\\.");
        v.put("release", parts.length >= 2 ? parts[0] + "." + parts[1] : config.version());
        v.put("repoid", "5c5b3a2e1f0d9c8b");
        return v;
    }

    private List<Map<String, Object>> nodes() {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String n : cluster.nodes()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("node", n);
            m.put("status", "online");
            m.put("type", "node");
            m.put("id", "node/" + n);
            m.put("cpu", 0.0125);
            m.put("maxcpu", 16);
            m.put("mem", 4_294_967_296L);
            m.put("maxmem", 137_438_953_472L);
            m.put("uptime", 86_400);
            m.put("level", "");
            m.put("ssl_fingerprint", fingerprint);
            out.add(m);
        }
        return out;
    }

    private Reply nextId(Call c) {
        String asked = c.param("vmid");
        if (asked != null) {
            int vmid = c.integer("vmid", 0);
            if (cluster.taken(vmid)) {
                throw PveError.param("vmid", "VM " + vmid + " already exists");
            }
            return Reply.of(asked); // PVE echoes the parameter, a string
        }
        // PVE's loop variable was used as a hash key, so JSON::XS sends it as a string
        return Reply.of(Integer.toString(cluster.nextId(faults.takeStaleNextId())));
    }

    private Reply resources(Call c) {
        String type = c.param("type");
        if (type != null && !List.of("vm", "storage", "node", "sdn").contains(type)) {
            throw PveError.param("type", "value '" + type + "' does not have a value in the enumeration 'vm, storage, node, sdn'");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        if (type == null || type.equals("vm")) {
            for (GuestState g : cluster.guestStates().values()) {
                cluster.observe(g);
                out.add(Shapes.resource(g));
            }
        }
        if (type == null || type.equals("node")) {
            for (String n : cluster.nodes()) {
                out.add(Map.of("id", "node/" + n, "type", "node", "node", n, "status", "online"));
            }
        }
        return Reply.of(out);
    }
}
