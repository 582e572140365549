package io.pvecri.proxmox.emulator;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import static io.pvecri.proxmox.emulator.ParamSchema.Kind.BOOLEAN;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.INTEGER;
import static io.pvecri.proxmox.emulator.ParamSchema.Kind.STRING;

/** {@code /nodes/{node}/tasks…} as pve-manager PVE/API2/Tasks.pm answers them. */
final class TaskHandlers {

    // pve-common PVE::UPID::decode
    private static final Pattern UPID = Pattern.compile(
            "^UPID:([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
                    + "([^:\\s/]+):([^:\\s/]*):([^:\\s/]+):$");
    private static final String NODE = "/nodes/(?<node>[^/]+)";

    private final EmulatedCluster cluster;

    TaskHandlers(EmulatedCluster cluster) {
        this.cluster = cluster;
    }

    void register(Router r) {
        ParamSchema upid = ParamSchema.of().req("node", STRING).req("upid", STRING);
        r.route("GET", NODE + "/tasks", ParamSchema.of().req("node", STRING).opt("start", INTEGER, 0, Long.MAX_VALUE)
                .opt("limit", INTEGER, 0, Long.MAX_VALUE).opt("vmid", INTEGER, 100, 999_999_999).opt("typefilter", STRING)
                .opt("userfilter", STRING).opt("errors", BOOLEAN).opt("source", STRING).opt("since", INTEGER)
                .opt("until", INTEGER).opt("statusfilter", STRING), this::list);
        r.route("GET", NODE + "/tasks/(?<upid>[^/]+)/status", upid, this::status);
        r.route("GET", NODE + "/tasks/(?<upid>[^/]+)/log", ParamSchema.of().with(upid).opt("start", INTEGER, 0, Long.MAX_VALUE)
                .opt("limit", INTEGER, 0, Long.MAX_VALUE).opt("download", BOOLEAN), this::log);
        r.route("DELETE", NODE + "/tasks/(?<upid>[^/]+)", upid, this::stop);
    }

    private EmuTask find(Call c) {
        cluster.requireNode(c.node());
        String upid = c.path("upid");
        if (!UPID.matcher(upid).matches()) {
            throw PveError.param("upid", "unable to parse worker upid");
        }
        EmuTask t = cluster.tasks.get(upid);
        if (t == null || !t.node.equals(c.node())) {
            throw PveError.param("upid", "no such task");
        }
        return t;
    }

    private Reply status(Call c) {
        EmuTask t = find(c);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("upid", t.upid);
        m.put("node", t.node);
        m.put("pid", t.pid);
        m.put("pstart", t.pstart);
        m.put("starttime", t.starttime);
        m.put("type", t.type);
        m.put("id", t.id);
        // $convert_token_task: the owning user, token name split off
        int bang = t.user.indexOf('!');
        m.put("user", bang < 0 ? t.user : t.user.substring(0, bang));
        if (bang >= 0) {
            m.put("tokenid", t.user.substring(bang + 1));
        }
        boolean running = t.running();
        m.put("status", running ? "running" : "stopped");
        if (!running) {
            m.put("exitstatus", t.exitStatus());
        }
        return Reply.of(m);
    }

    private Reply log(Call c) {
        EmuTask t = find(c);
        int start = c.integer("start", 0);
        int limit = c.integer("limit", 50);
        List<String> lines = t.lines();
        if (lines.isEmpty()) {
            lines = List.of("no content");
        }
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = start; i < lines.size() && (limit == 0 || out.size() < limit); i++) {
            Map<String, Object> l = new LinkedHashMap<>();
            l.put("n", i + 1);
            l.put("t", lines.get(i));
            out.add(l);
        }
        return new Reply(out, (long) lines.size());
    }

    private Reply stop(Call c) {
        find(c).kill();
        return Reply.none();
    }

    private Reply list(Call c) {
        cluster.requireNode(c.node());
        String vmid = c.param("vmid");
        String type = c.param("typefilter");
        String source = c.param("source", "archive");
        int start = c.integer("start", 0);
        int limit = c.integer("limit", 50);
        List<Map<String, Object>> out = new ArrayList<>();
        int skipped = 0;
        for (EmuTask t : cluster.tasks.list(c.node())) {
            if ((vmid != null && !t.id.equals(vmid)) || (type != null && !t.type.equals(type))) {
                continue;
            }
            boolean running = t.running();
            if ((source.equals("archive") && running) || (source.equals("active") && !running)) {
                continue;
            }
            if (skipped++ < start) {
                continue;
            }
            if (out.size() >= limit) {
                break;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("upid", t.upid);
            m.put("node", t.node);
            m.put("pid", t.pid);
            m.put("pstart", t.pstart);
            m.put("starttime", t.starttime);
            m.put("type", t.type);
            m.put("id", t.id);
            m.put("user", t.user);
            if (running) {
                m.put("status", "RUNNING");
            } else {
                m.put("endtime", t.endtime());
                m.put("status", t.exitStatus());
            }
            out.add(m);
        }
        return Reply.of(out);
    }
}
