package io.pvecri.proxmox.emulator;

import io.pvecri.proxmox.node.CtConfigFile;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One guest's mutable state. The config is kept sorted like PVE writes it ({@code key: value} lines by
 * key) and its digest is the SHA-1 of that text, as {@code GET config} reports it. Guard with
 * {@code synchronized (guest)}.
 *
 * <p>With a state directory the config file is the truth: {@link #load} replaces the options from the
 * file just read (description and {@code lxc.environment.runtime} lines become the {@code description}
 * and {@code env} options, as PVE's parser makes them), {@link #toFile} lays the options back over that
 * file, keeping its raw {@code lxc.*} entries and sections, and the digest is the SHA-1 of the file.
 */
final class GuestState {

    final int vmid;
    final String type; // lxc | qemu
    String node;
    final TreeMap<String, String> config = new TreeMap<>();
    boolean running;
    long pid;
    long startedAtMillis;
    long memUsed = -1;
    boolean ignoreShutdown;
    /** The file as last read or written (real mode), else null. */
    CtConfigFile file;
    String fileText;

    GuestState(int vmid, String type, String node, Map<String, String> config) {
        this.vmid = vmid;
        this.type = type;
        this.node = node;
        this.config.putAll(config);
    }

    String kind() {
        return type.equals("qemu") ? "VM" : "CT";
    }

    String text() {
        if (fileText != null) {
            return fileText;
        }
        StringBuilder b = new StringBuilder();
        config.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
        return b.toString();
    }

    String digest() {
        return sha1(text());
    }

    static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Replaces the state's config with the file's ({@code parse_pct_config}). */
    void load(CtConfigFile f, String text) {
        file = f;
        fileText = text;
        config.clear();
        config.putAll(f.options());
        String description = f.description();
        if (!description.isEmpty()) {
            config.put("description", description + "\n"); // parse_pct_config appends "\n" to every line
        }
        List<String> env = new ArrayList<>();
        for (Map.Entry<String, String> e : f.rawLxc()) {
            if (e.getKey().equals("lxc.environment.runtime")) {
                env.add(e.getValue());
            }
        }
        if (!env.isEmpty()) {
            config.put("env", String.join("\0", env));
        }
    }

    /** The options laid over the last file ({@code write_pct_config}): raw entries and sections stay. */
    CtConfigFile toFile() {
        CtConfigFile f = file == null ? new CtConfigFile() : CtConfigFile.parse(file.render());
        for (String k : List.copyOf(f.options().keySet())) {
            if (!config.containsKey(k)) {
                f.remove(k);
            }
        }
        f.setDescription(config.getOrDefault("description", ""));
        config.forEach((k, v) -> {
            if (!k.equals("description") && !k.equals("env")) {
                f.set(k, v);
            }
        });
        String env = config.get("env");
        List<String> oldEnv = new ArrayList<>();
        for (Map.Entry<String, String> e : f.rawLxc()) {
            if (e.getKey().equals("lxc.environment.runtime")) {
                oldEnv.add(e.getValue());
            }
        }
        List<String> newEnv = env == null ? List.of() : List.of(env.split("\0+")).stream().filter(s -> !s.isEmpty()).toList();
        if (!oldEnv.equals(newEnv)) {
            // write_pct_config: env lines first, then the other raw entries in their order
            List<Map.Entry<String, String>> others = f.rawLxc().stream()
                    .filter(e -> !e.getKey().equals("lxc.environment.runtime")).toList();
            f.removeRaw((k, v) -> true);
            newEnv.forEach(v -> f.addRaw("lxc.environment.runtime", v));
            others.forEach(e -> f.addRaw(e.getKey(), e.getValue()));
        }
        return f;
    }

    /** Raw entries PVE keeps ({@link RawLxcKeys}), env lines excluded: what {@code GET config} lists as {@code lxc}. */
    List<Map.Entry<String, String>> rawLxc() {
        if (file == null) {
            return List.of();
        }
        return file.rawLxc().stream().filter(e -> !e.getKey().equals("lxc.environment.runtime"))
                .filter(e -> RawLxcKeys.rejection(vmid, e.getKey(), e.getValue()).isEmpty()).toList();
    }

    /** The warnings PVE's parser prints for the raw entries it drops. */
    List<String> rawWarnings() {
        if (file == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : file.rawLxc()) {
            RawLxcKeys.rejection(vmid, e.getKey(), e.getValue()).ifPresent(out::add);
        }
        return out;
    }

    String lock() {
        return config.get("lock");
    }

    boolean template() {
        return "1".equals(config.get("template"));
    }

    /** {@code PVE::AbstractConfig::check_lock}. */
    void checkLock() {
        String lock = lock();
        if (lock != null && !lock.isEmpty()) {
            throw PveError.die(kind() + " is locked (" + lock + ")");
        }
    }

    String cfsPath() {
        return "nodes/" + node + "/" + (type.equals("qemu") ? "qemu-server" : "lxc") + "/" + vmid + ".conf";
    }
}
