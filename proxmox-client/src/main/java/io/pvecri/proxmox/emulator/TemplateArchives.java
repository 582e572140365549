package io.pvecri.proxmox.emulator;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * Unpacking a CT template into a new root filesystem as {@code PVE::LXC::Create::restore_tar_archive}
 * does ({@code tar xpf} with the compression flag chosen by file name, run inside the CT's user
 * namespace via {@code lxc-usernsexec} for unprivileged CTs, so the files land shifted by 100000), then
 * the architecture from {@code /bin/sh}'s ELF header ({@code detect_architecture}) and the OS type as
 * {@code PVE::LXC::Setup} autodetects it.
 */
final class TemplateArchives {

    private static final Duration TIMEOUT = Duration.ofMinutes(30);
    // PVE::Storage::Plugin::COMMON_TAR_FLAGS
    private static final List<String> COMMON_TAR_FLAGS = List.of("--one-file-system", "-p", "--sparse", "--numeric-owner",
            "--acls", "--xattrs", "--xattrs-include=user.*", "--xattrs-include=security.capability",
            "--warning=no-file-ignored", "--warning=no-xattr-write");
    private static final Map<String, String> COMPRESSION = Map.of(".gz", "-z", ".bz2", "-j", ".xz", "-J", ".lzo", "--lzop",
            ".zst", "--zstd");
    private static final List<String> OS_TYPES = List.of("debian", "devuan", "ubuntu", "centos", "fedora", "opensuse",
            "archlinux", "alpine", "gentoo", "nixos", "openeuler");
    private static final Map<String, String> OS_ALIASES = Map.of("opensuse-leap", "opensuse", "opensuse-tumbleweed", "opensuse",
            "opensuse-slowroll", "opensuse", "openEuler", "openeuler", "arch", "archlinux", "sles", "opensuse", "rocky", "centos",
            "almalinux", "centos");

    private TemplateArchives() {
    }

    /** {@code tar_compression_option}. */
    static Optional<String> compressionFlag(String archive) {
        int tar = archive.lastIndexOf(".tar");
        if (tar < 0) {
            throw PveError.die("file does not look like a template archive: " + archive);
        }
        String rest = archive.substring(tar + 4);
        if (rest.isEmpty()) {
            return Optional.empty();
        }
        String flag = COMPRESSION.get(rest);
        if (flag == null || rest.indexOf('.', 1) >= 0) {
            throw PveError.die("unrecognized compression format: " + rest);
        }
        return Optional.of(flag);
    }

    /**
     * Extracts {@code archive} into {@code rootDir}. The command runs with {@code rootDir} as working
     * directory, so the mapped root needs no access to the directories above it.
     */
    static void extract(Path archive, Path rootDir, boolean unprivileged, boolean ignoreErrors, Consumer<String> log) {
        List<String> cmd = new ArrayList<>();
        if (unprivileged) {
            cmd.addAll(List.of("lxc-usernsexec", "-m", "u:0:100000:65536", "-m", "g:0:100000:65536", "--"));
        }
        cmd.addAll(List.of("tar", "xpf", "-"));
        compressionFlag(archive.getFileName().toString()).ifPresent(cmd::add);
        cmd.add("--totals");
        cmd.addAll(COMMON_TAR_FLAGS);
        cmd.addAll(List.of("-C", ".", "--skip-old-files", "--anchored", "--exclude", "./dev/*"));
        if (!Files.isRegularFile(archive)) {
            throw PveError.die("failed to open '" + archive + "': No such file or directory");
        }
        log.accept("extracting archive '" + archive + "'");
        Exec.Result r = Exec.run(new Exec.Spec(cmd, rootDir, archive, TIMEOUT, log));
        if (!r.ok() && !ignoreErrors) {
            throw PveError.die(r.failure());
        }
    }

    /** {@code detect_architecture}: from the ELF header of the CT's {@code /bin/sh}; amd64 when that fails. */
    static String architecture(Path rootDir, Consumer<String> log) {
        try {
            Path sh = resolveInside(rootDir, "bin/sh");
            byte[] h = new byte[20];
            try (InputStream in = Files.newInputStream(sh)) {
                if (in.readNBytes(h, 0, 20) < 20 || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F') {
                    throw new IOException("'" + sh + "' is not an ELF file");
                }
            }
            int cls = h[4];
            boolean little = h[5] == 1;
            int machine = little ? (h[18] & 0xff) | (h[19] & 0xff) << 8 : (h[19] & 0xff) | (h[18] & 0xff) << 8;
            String arch = switch (machine) {
                case 0x03 -> "i386";
                case 0x3e -> "amd64";
                case 0x28 -> "armhf";
                case 0xb7 -> "arm64";
                case 0xf3 -> cls == 2 ? "riscv64" : "riscv32";
                default -> throw new IOException("unsupported ELF machine " + machine);
            };
            log.accept("Detected container architecture: " + arch);
            return arch;
        } catch (IOException e) {
            log.accept("Architecture detection failed: " + e.getMessage());
            log.accept("Falling back to amd64.");
            log.accept("Use `pct set VMID --arch ARCH` to change.");
            return "amd64";
        }
    }

    /** {@code PVE::LXC::Setup}'s autodetection of the OS type; {@code unmanaged} when there is nothing to go by. */
    static String osType(Path rootDir, Consumer<String> log) {
        Optional<String> id = osReleaseId(rootDir);
        if (id.isPresent()) {
            if (OS_TYPES.contains(id.get())) {
                return id.get();
            }
            if (OS_ALIASES.containsKey(id.get())) {
                return OS_ALIASES.get(id.get());
            }
            log.accept("unknown ID '" + id.get() + "' in /etc/os-release file, trying fallback detection");
        }
        String lsb = read(rootDir, "etc/lsb-release");
        if (lsb != null && lsb.lines().anyMatch(l -> l.equalsIgnoreCase("DISTRIB_ID=Ubuntu"))) {
            return "ubuntu";
        }
        String[][] markers = {{"etc/debian_version", "debian"}, {"etc/devuan_version", "devuan"}, {"etc/SuSE-brand", "opensuse"},
                {"etc/SuSE-release", "opensuse"}, {"etc/fedora-release", "fedora"}, {"etc/centos-release", "centos"},
                {"etc/redhat-release", "centos"}, {"etc/arch-release", "archlinux"}, {"etc/alpine-release", "alpine"},
                {"etc/gentoo-release", "gentoo"}, {"etc/openEuler-release", "openeuler"}};
        for (String[] m : markers) {
            if (isFileInside(rootDir, m[0])) {
                return m[1];
            }
        }
        if (Files.isDirectory(rootDir.resolve("nix/store"), LinkOption.NOFOLLOW_LINKS)) {
            return "nixos";
        }
        if (isFileInside(rootDir, "etc/os-release")) {
            throw PveError.die("unable to detect OS distribution");
        }
        log.accept("/etc/os-release file not found and autodetection failed, falling back to 'unmanaged'");
        return "unmanaged";
    }

    private static Optional<String> osReleaseId(Path rootDir) {
        String text = read(rootDir, "etc/os-release");
        if (text == null) {
            text = read(rootDir, "usr/lib/os-release");
        }
        if (text == null) {
            return Optional.empty();
        }
        for (String line : text.lines().toList()) {
            if (line.startsWith("ID=")) {
                return Optional.of(line.substring(3).strip().replaceAll("^[\"']|[\"']$", ""));
            }
        }
        return Optional.empty();
    }

    private static boolean isFileInside(Path root, String rel) {
        try {
            return Files.isRegularFile(resolveInside(root, rel));
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path root, String rel) {
        try {
            return Files.readString(resolveInside(root, rel));
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Resolves {@code rel} inside {@code root} as the CT would see it: symlinks followed, absolute link
     * targets taken relative to {@code root}, never leaving it.
     */
    static Path resolveInside(Path root, String rel) throws IOException {
        List<String> todo = new ArrayList<>(List.of(rel.split("/")));
        List<String> done = new ArrayList<>();
        int hops = 0;
        while (!todo.isEmpty()) {
            String part = todo.removeFirst();
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                if (!done.isEmpty()) {
                    done.removeLast();
                }
                continue;
            }
            Path p = root.resolve(String.join("/", done)).resolve(part);
            if (Files.isSymbolicLink(p)) {
                if (++hops > 40) {
                    throw new IOException("too many levels of symbolic links: " + rel);
                }
                String target = Files.readSymbolicLink(p).toString();
                if (target.startsWith("/")) {
                    done.clear();
                }
                List<String> next = new ArrayList<>(List.of(target.split("/")));
                next.addAll(todo);
                todo = next;
            } else {
                done.add(part);
            }
        }
        return root.resolve(String.join("/", done));
    }
}
