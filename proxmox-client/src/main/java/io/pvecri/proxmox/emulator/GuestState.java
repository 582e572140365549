package io.pvecri.proxmox.emulator;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * One guest's mutable state. The config is kept sorted like PVE writes it ({@code key: value} lines by
 * key) and its digest is the SHA-1 of that text, as {@code GET config} reports it. Guard with
 * {@code synchronized (guest)}.
 */
final class GuestState {

    final int vmid;
    final String type; // lxc | qemu
    String node;
    final TreeMap<String, String> config = new TreeMap<>();
    boolean running;
    long pid;
    long startedAtMillis;
    boolean ignoreShutdown;

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
        StringBuilder b = new StringBuilder();
        config.forEach((k, v) -> b.append(k).append(": ").append(v).append('\n'));
        return b.toString();
    }

    String digest() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
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
