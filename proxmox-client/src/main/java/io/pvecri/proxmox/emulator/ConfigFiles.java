package io.pvecri.proxmox.emulator;

import io.pvecri.proxmox.node.CtConfigFile;
import io.pvecri.proxmox.node.CtConfigLock;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The guest config files of a state directory, laid out like pmxcfs: {@code etc/pve/nodes/<node>/lxc/<vmid>.conf}
 * (and {@code qemu-server/} for VMs), {@code etc/pve/lxc} a symlink to the first node's directory, the
 * config flocks in {@code run/lock/lxc}. Writes are atomic (temp file + rename); creation is exclusive
 * and refused when the id is taken anywhere in the cluster, as pmxcfs does.
 */
final class ConfigFiles {

    /** A config file as read: where it lives, its parsed form and its exact text. */
    record Read(int vmid, String node, String type, CtConfigFile file, String text) {
    }

    private final Path root;
    private final List<String> nodes;
    private final CtConfigLock lock;

    ConfigFiles(Path root, List<String> nodes) {
        this.root = root;
        this.nodes = List.copyOf(nodes);
        this.lock = new CtConfigLock(root.resolve("run/lock/lxc"));
    }

    /** Creates the directories and the {@code etc/pve/lxc} link. */
    void prepare() throws IOException {
        for (String n : nodes) {
            Files.createDirectories(dir(n, "lxc"));
            Files.createDirectories(dir(n, "qemu-server"));
        }
        Files.createDirectories(root.resolve("run/lock/lxc"));
        Path link = root.resolve("etc/pve/lxc");
        Path target = Path.of("nodes", nodes.getFirst(), "lxc");
        if (Files.isSymbolicLink(link)) {
            if (!Files.readSymbolicLink(link).equals(target)) {
                Files.delete(link);
                Files.createSymbolicLink(link, target);
            }
        } else if (Files.exists(link)) {
            throw new IOException(link + " exists and is not a symlink to " + target);
        } else {
            Files.createSymbolicLink(link, target);
        }
    }

    CtConfigLock lock() {
        return lock;
    }

    Path dir(String node, String type) {
        return root.resolve("etc/pve/nodes").resolve(node).resolve(type.equals("qemu") ? "qemu-server" : "lxc");
    }

    Path file(String node, String type, int vmid) {
        return dir(node, type).resolve(vmid + ".conf");
    }

    /** The config of {@code vmid} wherever it lives in the cluster. */
    Optional<Read> read(int vmid) {
        for (String n : nodes) {
            for (String type : List.of("lxc", "qemu")) {
                Optional<Read> r = readAt(n, type, vmid);
                if (r.isPresent()) {
                    return r;
                }
            }
        }
        return Optional.empty();
    }

    private Optional<Read> readAt(String node, String type, int vmid) {
        Path f = file(node, type, vmid);
        try {
            String text = Files.readString(f, StandardCharsets.UTF_8);
            return Optional.of(new Read(vmid, node, type, CtConfigFile.parse(text), text));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw PveError.die("unable to parse " + f + ": " + e.getMessage());
        }
    }

    /** Every guest config in the cluster, by vmid. */
    Map<Integer, Read> scan() {
        Map<Integer, Read> out = new LinkedHashMap<>();
        for (String n : nodes) {
            for (String type : List.of("lxc", "qemu")) {
                Path d = dir(n, type);
                if (!Files.isDirectory(d)) {
                    continue;
                }
                try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "[1-9]*.conf")) {
                    for (Path p : ds) {
                        String name = p.getFileName().toString();
                        String id = name.substring(0, name.length() - ".conf".length());
                        if (!id.matches("[1-9][0-9]{2,8}")) {
                            continue;
                        }
                        readAt(n, type, Integer.parseInt(id)).ifPresent(r -> out.putIfAbsent(r.vmid(), r));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out;
    }

    /** Writes a config atomically; returns the text written. */
    String write(String node, String type, int vmid, CtConfigFile c) {
        Path target = file(node, type, vmid);
        String text = c.render();
        Path tmp = target.resolveSibling("." + vmid + ".conf.tmp." + ProcessHandle.current().pid() + "." + Thread.currentThread().threadId());
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort
            }
            throw PveError.die("unable to write '" + target + "' - " + e.getMessage());
        }
        return text;
    }

    /**
     * Creates the config exclusively ({@code create_and_lock_config}); false when {@code vmid} already
     * has a config anywhere in the cluster.
     */
    boolean create(String node, String type, int vmid, CtConfigFile c) {
        if (read(vmid).isPresent()) {
            return false;
        }
        Path target = file(node, type, vmid);
        try {
            Files.writeString(target, c.render(), StandardCharsets.UTF_8, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            return true;
        } catch (FileAlreadyExistsException e) {
            return false;
        } catch (IOException e) {
            throw PveError.die("unable to create '" + target + "' - " + e.getMessage());
        }
    }

    void delete(String node, String type, int vmid) {
        try {
            Files.deleteIfExists(file(node, type, vmid));
        } catch (IOException e) {
            throw PveError.die("unable to delete config of " + vmid + " - " + e.getMessage());
        }
    }
}
