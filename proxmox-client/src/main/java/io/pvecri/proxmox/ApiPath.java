package io.pvecri.proxmox;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A path below {@code /api2/json} as template plus arguments: {@code /nodes/{node}/lxc/{vmid}/config}
 * with {@code [pve1, 101]}. The template names the endpoint in logs and metrics; {@link #segments()}
 * gives the raw path segments (the HTTP layer percent-encodes them, so a volume id
 * {@code local:vztmpl/a.tar} stays one segment, which PVE decodes before splitting).
 */
record ApiPath(String template, List<String> args) {

    ApiPath {
        Objects.requireNonNull(template, "template");
        args = List.copyOf(args);
        if (!template.startsWith("/")) {
            throw new IllegalArgumentException("template must start with '/': " + template);
        }
        long holes = template.chars().filter(c -> c == '{').count();
        if (holes != args.size()) {
            throw new IllegalArgumentException(template + ": " + holes + " placeholders, " + args.size() + " arguments");
        }
        for (String a : args) {
            if (a.isEmpty()) {
                throw new IllegalArgumentException(template + ": empty path argument");
            }
        }
    }

    static ApiPath of(String template, Object... args) {
        List<String> list = new ArrayList<>(args.length);
        for (Object a : args) {
            list.add(String.valueOf(Objects.requireNonNull(a, "path argument")));
        }
        return new ApiPath(template, list);
    }

    /** The decoded segments with the arguments filled in. */
    List<String> segments() {
        List<String> out = new ArrayList<>();
        int next = 0;
        for (String seg : template.substring(1).split("/")) {
            out.add(seg.startsWith("{") && seg.endsWith("}") ? args.get(next++) : seg);
        }
        return out;
    }

    /** The {@code {node}} argument, or empty if the path has none. */
    String node() {
        List<String> segs = List.of(template.substring(1).split("/"));
        int i = segs.indexOf("{node}");
        return i < 0 ? "" : segments().get(i);
    }

    @Override
    public String toString() {
        return args.isEmpty() ? template : template + " " + args;
    }
}
