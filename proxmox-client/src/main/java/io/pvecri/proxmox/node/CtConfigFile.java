package io.pvecri.proxmox.node;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A container config file as PVE keeps it ({@code /etc/pve/nodes/<node>/lxc/<vmid>.conf}, format of
 * {@code PVE::LXC::Config::write_pct_config}): the description as leading {@code #} lines, then
 * {@code key: value} lines sorted by key, then raw {@code lxc.*} entries in their own order, then any
 * {@code [pve:pending]} or {@code [snapshot]} sections, which this class keeps verbatim.
 *
 * <p>Only the main section is edited here; that is all pve-cri and the emulator change. Not thread-safe:
 * edit it under the config lock ({@link CtConfigLock}) and write it back with {@link NodeFiles#writeConfig}.
 */
public final class CtConfigFile {

    private final List<String> description = new ArrayList<>();
    private final TreeMap<String, String> options = new TreeMap<>();
    private final List<Map.Entry<String, String>> raw = new ArrayList<>();
    private final StringBuilder sections = new StringBuilder();

    /** An empty config. */
    public CtConfigFile() {
    }

    /** Parses a config file's text; {@code lxc.key = value} is accepted for raw entries, as PVE's parser does. */
    public static CtConfigFile parse(String text) {
        CtConfigFile c = new CtConfigFile();
        boolean main = true;
        for (String line : text.split("\n", -1)) {
            if (!main) {
                c.sections.append(line).append('\n');
                continue;
            }
            if (line.startsWith("[")) {
                main = false;
                c.sections.append(line).append('\n');
                continue;
            }
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("#")) {
                c.description.add(line.substring(1));
                continue;
            }
            if (line.startsWith("lxc.")) {
                int sep = separator(line);
                if (sep < 0) {
                    throw new IllegalArgumentException("invalid raw lxc line: " + line);
                }
                c.raw.add(Map.entry(line.substring(0, sep).strip(), line.substring(sep + 1).strip()));
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("invalid config line: " + line);
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            if (key.equals("description")) {
                // parse_pct_config: a description option is read as more description text
                c.description.add(value);
                continue;
            }
            c.options.put(key, value);
        }
        // Trailing newlines of the last section are normalised on render.
        while (c.sections.length() > 0 && c.sections.charAt(c.sections.length() - 1) == '\n'
                && c.sections.length() > 1 && c.sections.charAt(c.sections.length() - 2) == '\n') {
            c.sections.setLength(c.sections.length() - 1);
        }
        return c;
    }

    private static int separator(String line) {
        int colon = line.indexOf(':');
        int eq = line.indexOf('=');
        if (colon < 0) {
            return eq;
        }
        return eq < 0 ? colon : Math.min(colon, eq);
    }

    /** The file's text, as {@code write_pct_config} lays it out. */
    public String render() {
        StringBuilder b = new StringBuilder();
        for (String d : description) {
            b.append('#').append(d).append('\n');
        }
        options.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
        for (Map.Entry<String, String> e : raw) {
            b.append(e.getKey()).append(": ").append(e.getValue()).append('\n');
        }
        if (!sections.isEmpty()) {
            b.append('\n').append(sections);
        }
        return b.toString();
    }

    /** SHA-1 of the rendered text, what {@code GET config} reports as {@code digest}. */
    public String digest() {
        try {
            byte[] d = MessageDigest.getInstance("SHA-1").digest(render().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public Optional<String> get(String key) {
        return Optional.ofNullable(options.get(key));
    }

    /** Sets an option; {@code description} goes to the comment lines ({@link #setDescription}). */
    public void set(String key, String value) {
        if (key.equals("description")) {
            setDescription(value);
            return;
        }
        if (key.startsWith("lxc.") || key.isBlank() || key.contains(":") || key.contains("\n") || value.contains("\n")) {
            throw new IllegalArgumentException("not a config option: " + key);
        }
        options.put(key, value);
    }

    public void remove(String key) {
        options.remove(key);
    }

    /** The main section's options, sorted by key. */
    public Map<String, String> options() {
        return java.util.Collections.unmodifiableMap(options);
    }

    /** Raw {@code lxc.*} entries in file order. */
    public List<Map.Entry<String, String>> rawLxc() {
        return List.copyOf(raw);
    }

    /** Appends a raw {@code lxc.*} entry (after the existing ones; LXC reads them in order). */
    public void addRaw(String key, String value) {
        if (!key.startsWith("lxc.") || key.contains(":") || key.contains("=") || value.contains("\n")) {
            throw new IllegalArgumentException("not a raw lxc entry: " + key + " = " + value);
        }
        raw.add(Map.entry(key, value));
    }

    /** Removes every raw entry for which the predicate on its key and value holds. */
    public void removeRaw(java.util.function.BiPredicate<String, String> which) {
        raw.removeIf(e -> which.test(e.getKey(), e.getValue()));
    }

    /**
     * The description: the comment lines decoded as PVE's {@code decode_text} does ({@code %XX} escapes),
     * joined with newlines.
     */
    public String description() {
        List<String> out = new ArrayList<>(description.size());
        for (String line : description) {
            out.add(decodeText(line));
        }
        return String.join("\n", out);
    }

    /**
     * Sets the description; lines are stored as {@code write_pct_config} does: one {@code #} line each,
     * encoded with PVE's {@code encode_text} (control characters, {@code ':'} and non-ASCII bytes as
     * {@code %XX}), trailing empty lines dropped (Perl's {@code split}).
     */
    public void setDescription(String text) {
        description.clear();
        List<String> lines = new ArrayList<>(List.of(text.split("\n", -1)));
        while (!lines.isEmpty() && lines.getLast().isEmpty()) {
            lines.removeLast();
        }
        for (String line : lines) {
            description.add(encodeText(line));
        }
    }

    /** PVE::Tools::encode_text: everything outside 0x20-0x39 and 0x3b-0x7e (of the UTF-8 bytes) as %XX. */
    static String encodeText(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (byte x : text.getBytes(StandardCharsets.UTF_8)) {
            int c = x & 0xff;
            if ((c >= 0x20 && c <= 0x39) || (c >= 0x3b && c <= 0x7e)) {
                b.append((char) c);
            } else {
                b.append('%').append(HexFormat.of().withUpperCase().toHexDigits((byte) c));
            }
        }
        return b.toString();
    }

    /** PVE::Tools::decode_text: every %XX escape decoded, the bytes read as UTF-8. */
    static String decodeText(String data) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(data.length());
        byte[] in = data.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < in.length; i++) {
            if (in[i] == '%' && i + 2 < in.length && HexFormat.isHexDigit(in[i + 1]) && HexFormat.isHexDigit(in[i + 2])) {
                out.write(Character.digit(in[i + 1], 16) * 16 + Character.digit(in[i + 2], 16));
                i += 2;
            } else {
                out.write(in[i]);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /** True when the config has {@code [pve:pending]} or snapshot sections (kept verbatim). */
    public boolean hasSections() {
        return !sections.isEmpty();
    }
}
