package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Executes a CNI network list per the CNI 1.0 spec: ADD plugin by plugin (each gets the
 * previous result as {@code prevResult}), DEL in reverse order with the cached result, CHECK
 * in order. Plugins run in the host netns ({@code nsenter} when it is a test netns).
 */
final class CniRunner {
    private static final String PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /** The per-pod part of an invocation. {@code capabilityArgs}: runtimeConfig values by capability name. */
    record Invocation(String containerId, String netns, String ifname, String cniArgs, Map<String, JsonNode> capabilityArgs) {
    }

    private final Netns hostNetns;
    private final List<Path> binDirs;
    private final Duration timeout;
    private final Function<String, Path> pluginLookup;

    CniRunner(Netns hostNetns, List<Path> binDirs, Duration timeout, Function<String, Path> pluginLookup) {
        this.hostNetns = hostNetns;
        this.binDirs = binDirs;
        this.timeout = timeout;
        this.pluginLookup = pluginLookup;
    }

    /** Runs ADD through the list; returns the last plugin's result. */
    JsonNode add(CniNetworkList list, Invocation inv) throws NetworkException.SetupFailed {
        JsonNode prev = null;
        for (ObjectNode plugin : list.plugins()) {
            prev = invoke("ADD", list, plugin, inv, prev, true);
        }
        return prev == null ? Json.MAPPER.createObjectNode() : prev;
    }

    /** Runs DEL through the list in reverse order, every plugin tried; returns the errors. */
    List<String> del(CniNetworkList list, Invocation inv, JsonNode cachedResult) {
        List<String> errors = new ArrayList<>();
        List<ObjectNode> reversed = new ArrayList<>(list.plugins()).reversed();
        for (ObjectNode plugin : reversed) {
            try {
                invoke("DEL", list, plugin, inv, cachedResult, false);
            } catch (NetworkException.SetupFailed e) {
                errors.add(e.getMessage());
            }
        }
        return errors;
    }

    /** Runs CHECK through the list; returns the problems. */
    List<String> check(CniNetworkList list, Invocation inv, JsonNode cachedResult) {
        if (!list.supportsCheck()) {
            return List.of();
        }
        for (ObjectNode plugin : list.plugins()) {
            try {
                invoke("CHECK", list, plugin, inv, cachedResult, false);
            } catch (NetworkException.SetupFailed e) {
                return List.of(e.getMessage());
            }
        }
        return List.of();
    }

    private JsonNode invoke(String command, CniNetworkList list, ObjectNode plugin, Invocation inv, JsonNode prevResult,
                            boolean wantResult) throws NetworkException.SetupFailed {
        String type = plugin.path("type").asText();
        Path bin = pluginLookup.apply(type);
        if (bin == null) {
            throw new NetworkException.SetupFailed("cni " + command + ": plugin " + type + " not found in " + binDirs);
        }
        ObjectNode conf = plugin.deepCopy();
        conf.put("cniVersion", list.cniVersion());
        conf.put("name", list.name());
        if (prevResult != null && !prevResult.isEmpty()) {
            conf.set("prevResult", prevResult);
        } else {
            conf.remove("prevResult");
        }
        ObjectNode runtimeConfig = Json.MAPPER.createObjectNode();
        JsonNode caps = plugin.path("capabilities");
        for (Map.Entry<String, JsonNode> cap : caps.properties()) {
            JsonNode value = inv.capabilityArgs().get(cap.getKey());
            if (cap.getValue().asBoolean(false) && value != null) {
                runtimeConfig.set(cap.getKey(), value);
            }
        }
        if (!runtimeConfig.isEmpty()) {
            conf.set("runtimeConfig", runtimeConfig);
        }
        Map<String, String> env = new LinkedHashMap<>();
        env.put("CNI_COMMAND", command);
        env.put("CNI_CONTAINERID", inv.containerId());
        env.put("CNI_NETNS", inv.netns());
        env.put("CNI_IFNAME", inv.ifname());
        env.put("CNI_ARGS", inv.cniArgs());
        env.put("CNI_PATH", String.join(":", binDirs.stream().map(Path::toString).toList()));
        env.put("PATH", PATH);
        Exec.Result r;
        try {
            r = Exec.run(hostNetns.wrap(List.of(bin.toString())), Json.MAPPER.writeValueAsString(conf), env, timeout);
        } catch (IOException e) {
            throw new NetworkException.SetupFailed("cni " + command + " " + type + ": " + e.getMessage(), e);
        }
        if (!r.ok()) {
            throw new NetworkException.SetupFailed("cni " + command + " " + type + " failed: " + errorText(r));
        }
        if (!wantResult) {
            return prevResult;
        }
        try {
            JsonNode result = Json.MAPPER.readTree(r.stdout());
            if (result == null || !result.isObject()) {
                throw new IOException("empty result");
            }
            return result;
        } catch (IOException e) {
            throw new NetworkException.SetupFailed("cni " + command + " " + type + ": result is not JSON: " + e.getMessage(), e);
        }
    }

    private static String errorText(Exec.Result r) {
        try {
            JsonNode err = Json.MAPPER.readTree(r.stdout());
            if (err != null && err.has("msg")) {
                String details = err.path("details").asText("");
                return "code " + err.path("code").asInt() + ": " + err.path("msg").asText() + (details.isEmpty() ? "" : " (" + details + ")");
            }
        } catch (IOException ignored) {
            // not a CNI error object; fall back to the raw output
        }
        return "exit " + r.exit() + ": " + (r.stderr().isBlank() ? r.stdout() : r.stderr()).strip();
    }
}
