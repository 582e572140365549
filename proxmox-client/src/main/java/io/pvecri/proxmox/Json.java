package io.pvecri.proxmox;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/**
 * Lenient readers for PVE's loosely typed JSON (Perl scalars): numbers may arrive as numbers or numeric
 * strings ({@code "vmid":"506"}), booleans as {@code 1}/{@code 0}/{@code ""}/{@code true}/{@code false},
 * and optional fields may be missing or {@code null}. Every reader takes a default.
 */
final class Json {

    static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .build();

    private Json() {
    }

    static String text(JsonNode node, String field, String dflt) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull() || v.isContainerNode()) {
            return dflt;
        }
        return v.asText();
    }

    static long number(JsonNode node, String field, long dflt) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (v.isNumber()) {
            return v.asLong();
        }
        if (v.isTextual()) {
            String s = v.asText().strip();
            try {
                return s.contains(".") || s.contains("e") || s.contains("E") ? (long) Double.parseDouble(s) : Long.parseLong(s);
            } catch (NumberFormatException e) {
                return dflt;
            }
        }
        return v.isBoolean() ? (v.asBoolean() ? 1 : 0) : dflt;
    }

    static int integer(JsonNode node, String field, int dflt) {
        long v = number(node, field, dflt);
        return v > Integer.MAX_VALUE || v < Integer.MIN_VALUE ? dflt : (int) v;
    }

    static double decimal(JsonNode node, String field, double dflt) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (v.isNumber()) {
            return v.asDouble();
        }
        if (v.isTextual()) {
            try {
                return Double.parseDouble(v.asText().strip());
            } catch (NumberFormatException e) {
                return dflt;
            }
        }
        return dflt;
    }

    static boolean bool(JsonNode node, String field, boolean dflt) {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return dflt;
        }
        if (v.isBoolean()) {
            return v.asBoolean();
        }
        if (v.isNumber()) {
            return v.asLong() != 0;
        }
        String s = v.asText().strip();
        return switch (s) {
            case "", "0", "false" -> false;
            case "1", "true" -> true;
            default -> dflt;
        };
    }

    /** PVE tags: {@code ;}-joined (also tolerates {@code ,} and spaces, as PVE's parser does). */
    static Set<String> tags(JsonNode node, String field) {
        String raw = text(node, field, "");
        if (raw.isBlank()) {
            return Set.of();
        }
        LinkedHashSet<String> out = new LinkedHashSet<>();
        Arrays.stream(raw.split("[;,\\s]+")).filter(s -> !s.isEmpty()).forEach(out::add);
        return Collections.unmodifiableSet(out);
    }

    /** A flat object's fields as strings (numbers and booleans in their JSON text). */
    static Map<String, String> flatStrings(JsonNode node) {
        LinkedHashMap<String, String> out = new LinkedHashMap<>();
        if (node != null && node.isObject()) {
            node.properties().forEach(e -> {
                JsonNode v = e.getValue();
                if (v != null && !v.isNull() && !v.isContainerNode()) {
                    out.put(e.getKey(), v.asText());
                }
            });
        }
        return Collections.unmodifiableMap(out);
    }
}
