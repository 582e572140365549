package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.JsonNode;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * {@code GET /nodes/{node}/lxc/{vmid}/config}: the config keys as PVE prints them (numbers and
 * booleans as text, {@code net0} etc. as property strings), the {@code digest} to pass back for an
 * optimistic update, and the raw {@code lxc.*} entries.
 *
 * @param values config keys without {@code digest} and {@code lxc}
 * @param digest SHA-1 of the config file, for {@link ConfigUpdate#ifDigest}
 * @param raw    raw {@code lxc.*} lines as key/value pairs, in file order
 */
public record LxcConfig(Map<String, String> values, String digest, List<Map.Entry<String, String>> raw) {

    public LxcConfig {
        values = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(values));
        Objects.requireNonNull(digest, "digest");
        raw = List.copyOf(raw);
    }

    static LxcConfig from(JsonNode n) {
        LinkedHashMap<String, String> values = new LinkedHashMap<>(Json.flatStrings(n));
        values.remove("digest");
        List<Map.Entry<String, String>> raw = new ArrayList<>();
        JsonNode lxc = n.get("lxc");
        if (lxc != null && lxc.isArray()) {
            for (JsonNode pair : lxc) {
                if (pair.isArray() && pair.size() == 2) {
                    raw.add(Map.entry(pair.get(0).asText(), pair.get(1).asText()));
                }
            }
        }
        return new LxcConfig(values, Json.text(n, "digest", ""), raw);
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(values.get(key));
    }

    public boolean template() {
        String t = values.get("template");
        return t != null && (t.equals("1") || t.equals("true"));
    }

    /** The {@code lock:} value ({@code create}, {@code disk}, …), if set. */
    public Optional<String> lock() {
        return get("lock").filter(s -> !s.isEmpty());
    }

    public Set<String> tags() {
        String t = values.getOrDefault("tags", "");
        return t.isBlank() ? Set.of() : Set.of(t.split("[;,\\s]+"));
    }
}
