package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.ArrayList;
import java.util.List;

/**
 * A CNI network configuration list ({@code .conflist}, or a single {@code .conf} wrapped in one),
 * kept as the JSON it was read from so plugins see every key they own.
 */
record CniNetworkList(String name, String cniVersion, boolean disableCheck, List<ObjectNode> plugins, ObjectNode raw) {

    /** Parses a conflist or a single plugin conf; throws IllegalArgumentException saying what is wrong. */
    static CniNetworkList parse(JsonNode json, boolean single) {
        if (!(json instanceof ObjectNode obj)) {
            throw new IllegalArgumentException("not a JSON object");
        }
        ObjectNode list;
        if (single) {
            list = Json.MAPPER.createObjectNode();
            list.put("cniVersion", obj.path("cniVersion").asText(""));
            list.put("name", obj.path("name").asText(""));
            ObjectNode plugin = obj.deepCopy();
            list.putArray("plugins").add(plugin);
        } else {
            list = obj.deepCopy();
        }
        String name = list.path("name").asText("");
        String version = list.path("cniVersion").asText("");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("no \"name\"");
        }
        if (version.isEmpty()) {
            throw new IllegalArgumentException("no \"cniVersion\"");
        }
        JsonNode ps = list.path("plugins");
        if (!ps.isArray() || ps.isEmpty()) {
            throw new IllegalArgumentException("no \"plugins\"");
        }
        List<ObjectNode> plugins = new ArrayList<>();
        for (JsonNode p : ps) {
            String type = p.path("type").asText("");
            if (!(p instanceof ObjectNode po) || type.isEmpty() || type.contains("/") || type.startsWith(".")) {
                throw new IllegalArgumentException("a plugin has no valid \"type\"");
            }
            plugins.add(po);
        }
        return new CniNetworkList(name, version, list.path("disableCheck").asBoolean(false), List.copyOf(plugins), list);
    }

    /** Bridges the list's {@code bridge} plugins create (for counters). */
    List<String> bridgeNames() {
        List<String> out = new ArrayList<>();
        for (ObjectNode p : plugins) {
            if (p.path("type").asText().equals("bridge")) {
                out.add(p.path("bridge").asText("cni0"));
            }
        }
        return out;
    }

    /** CHECK exists from CNI 0.4.0 on. */
    boolean supportsCheck() {
        return !disableCheck && !cniVersion.startsWith("0.1") && !cniVersion.startsWith("0.2") && !cniVersion.startsWith("0.3");
    }
}
