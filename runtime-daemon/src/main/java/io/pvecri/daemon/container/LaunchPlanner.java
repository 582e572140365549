package io.pvecri.daemon.container;

import io.pvecri.daemon.backend.LaunchSpec;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.daemon.seccomp.LocalhostProfile;
import io.pvecri.daemon.seccomp.SeccompProfileException;
import io.pvecri.daemon.util.RequestLimits;
import io.pvecri.image.ImageConfig;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.Device;
import io.pvecri.proto.cri.v1.KeyValue;
import io.pvecri.proto.cri.v1.LinuxContainerSecurityContext;
import io.pvecri.proto.cri.v1.Mount;
import io.pvecri.proto.cri.v1.MountPropagation;
import io.pvecri.proto.cri.v1.SecurityProfile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Translates a validated CRI ContainerConfig plus the image's config into what the shim runs
 * ({@link ProcessSpec}) and what the backend creates (mounts, devices). Pure checks and
 * translation: it creates nothing except the log file's parent directory.
 */
final class LaunchPlanner {
    static final String DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    private static final long S_IFMT = 0170000;
    private static final long S_IFCHR = 0020000;
    private static final long S_IFBLK = 0060000;

    private LaunchPlanner() {}

    /** Fails with InvalidArgument on anything unusable in the config, before anything is created. */
    static void validate(ContainerConfig c) {
        if (!c.hasMetadata()) {
            throw CriException.invalid("container config has no metadata; set metadata.name");
        }
        RequestLimits.requireName("container metadata.name", c.getMetadata().getName());
        if (!c.hasImage() || c.getImage().getImage().isEmpty()) {
            throw CriException.invalid("container config has no image; set image.image");
        }
        RequestLimits.requireKeyValues("container labels", c.getLabelsMap());
        RequestLimits.requireKeyValues("container annotations", c.getAnnotationsMap());
        RequestLimits.requireArgv("container command", c.getCommandList());
        RequestLimits.requireArgv("container args", c.getArgsList());
        RequestLimits.requireArgv("container envs", c.getEnvsList().stream().map(kv -> kv.getKey() + "=" + kv.getValue().toStringUtf8()).toList());
        for (KeyValue kv : c.getEnvsList()) {
            if (kv.getKey().isEmpty() || kv.getKey().contains("=")) {
                throw CriException.invalid("environment variable name '" + RequestLimits.printable(kv.getKey()) + "' is empty or contains '='");
            }
        }
        if (!c.getWorkingDir().isEmpty()) {
            PathRules.requireCleanAbsolute("working_dir", c.getWorkingDir());
        }
        for (Mount m : c.getMountsList()) {
            mount(m);
        }
        for (Device d : c.getDevicesList()) {
            PathRules.requireCleanAbsolute("device container_path", d.getContainerPath());
            PathRules.requireCleanAbsolute("device host_path", d.getHostPath());
            if (!d.getPermissions().isEmpty() && !d.getPermissions().matches("[rwm]{1,3}")) {
                throw CriException.invalid("device permissions '" + RequestLimits.printable(d.getPermissions()) + "' must be letters of 'rwm'");
            }
        }
        var sc = c.getLinux().getSecurityContext();
        for (String p : sc.getMaskedPathsList()) {
            PathRules.requireCleanAbsolute("masked path", p);
        }
        for (String p : sc.getReadonlyPathsList()) {
            PathRules.requireCleanAbsolute("read-only path", p);
        }
        localhostProfile(sc); // the path's shape; the file is read and compiled by process()
        // PID mode POD (also the proto default that crictl sends) is run as CONTAINER: each
        // container has its own PID namespace (docs/decisions.md, "PID namespace").
        if (sc.getNamespaceOptions().getPidValue() == 3 /* TARGET */) {
            throw CriException.invalid("targeting another container's PID namespace (ephemeral containers) is not supported by pve-cri yet");
        }
        if (sc.hasRunAsGroup() && !sc.hasRunAsUser() && sc.getRunAsUsername().isEmpty()) {
            throw CriException.invalid("run_as_group is only allowed together with run_as_user or run_as_username");
        }
        // Capability names are checked here so a typo fails at create, not at start.
        Capabilities.resolve(sc.getCapabilities().getAddCapabilitiesList(), sc.getCapabilities().getDropCapabilitiesList());
    }

    static LaunchSpec.BindMount mount(Mount m) {
        Path container = PathRules.requireCleanAbsolute("mount container_path", m.getContainerPath());
        if (container.equals(Path.of("/")) || container.startsWith("/.pve-cri")) {
            throw CriException.invalid("mount container_path '" + container + "' is reserved");
        }
        Path host = PathRules.requireCleanAbsolute("mount host_path", m.getHostPath());
        if (!Files.exists(host)) {
            throw CriException.invalid("mount host_path '" + host + "' does not exist; create it first (kubelet does for its volumes)");
        }
        LaunchSpec.Propagation prop = switch (m.getPropagation()) {
            case PROPAGATION_HOST_TO_CONTAINER -> LaunchSpec.Propagation.HOST_TO_CONTAINER;
            case PROPAGATION_BIDIRECTIONAL -> LaunchSpec.Propagation.BIDIRECTIONAL;
            default -> LaunchSpec.Propagation.PRIVATE;
        };
        return new LaunchSpec.BindMount(host, container.toString(), m.getReadonly(), prop, Files.isDirectory(host));
    }

    static LaunchSpec.Device device(Device d) {
        Path host = Path.of(d.getHostPath()).normalize();
        try {
            long mode = ((Number) Files.getAttribute(host, "unix:mode")).longValue();
            long rdev = ((Number) Files.getAttribute(host, "unix:rdev")).longValue();
            char type = switch ((int) (mode & S_IFMT)) {
                case (int) S_IFCHR -> 'c';
                case (int) S_IFBLK -> 'b';
                default -> throw CriException.invalid("device host_path '" + host + "' is not a character or block device");
            };
            long major = ((rdev >> 8) & 0xfff) | ((rdev >> 32) & ~0xfffL);
            long minor = (rdev & 0xff) | ((rdev >> 12) & ~0xffL);
            String perms = d.getPermissions().isEmpty() ? "rwm" : d.getPermissions();
            return new LaunchSpec.Device(host, d.getContainerPath(), type, major, minor, perms);
        } catch (IOException e) {
            throw CriException.invalid("device host_path '" + host + "' cannot be read: " + e.getMessage());
        }
    }

    /** The main process: command/args over entrypoint/cmd (containerd's rules), env, user, caps. */
    static ProcessSpec process(ContainerConfig c, ImageConfig image, Path imageRootfs, String logFileInside) {
        List<String> argv = new ArrayList<>();
        if (!c.getCommandList().isEmpty()) {
            argv.addAll(c.getCommandList());
            argv.addAll(c.getArgsList());
        } else {
            argv.addAll(image.entrypoint());
            argv.addAll(c.getArgsList().isEmpty() ? image.cmd() : c.getArgsList());
        }
        if (argv.isEmpty()) {
            throw CriException.invalid("no command to run: the container config has no command/args and the image has no entrypoint/cmd");
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (String e : image.env()) {
            int eq = e.indexOf('=');
            if (eq > 0) {
                env.put(e.substring(0, eq), e.substring(eq + 1));
            }
        }
        env.putIfAbsent("PATH", DEFAULT_PATH.substring(5));
        for (KeyValue kv : c.getEnvsList()) {
            env.put(kv.getKey(), kv.getValue().toStringUtf8());
        }
        LinuxContainerSecurityContext sc = c.getLinux().getSecurityContext();
        if (!env.containsKey("HOME")) {
            env.put("HOME", "/root");
        }
        String cwd = !c.getWorkingDir().isEmpty() ? c.getWorkingDir()
                : image.workingDir() == null || image.workingDir().isEmpty() ? "/" : image.workingDir();
        UserResolver.Identity id = new UserResolver(imageRootfs).resolve(
                sc.hasRunAsUser() ? Optional.of(sc.getRunAsUser().getValue()) : Optional.empty(),
                sc.getRunAsUsername().isEmpty() ? Optional.empty() : Optional.of(sc.getRunAsUsername()),
                sc.hasRunAsGroup() ? Optional.of(sc.getRunAsGroup().getValue()) : Optional.empty(),
                image.user() == null ? "" : image.user(),
                sc.getSupplementalGroupsList());
        long caps = sc.getPrivileged() ? -1
                : Capabilities.resolve(sc.getCapabilities().getAddCapabilitiesList(), sc.getCapabilities().getDropCapabilitiesList());
        List<String> envList = env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList();
        boolean privileged = sc.getPrivileged();
        return new ProcessSpec(List.copyOf(argv), envList, cwd, id.uid(), id.gid(), id.groups(),
                c.getTty(), c.getStdin(), sc.getNoNewPrivs(), c.getLinux().getResources().getOomScoreAdj(),
                caps, sc.getReadonlyRootfs(), logFileInside,
                privileged ? new Seccomp.Unconfined() : seccomp(sc, caps),
                privileged ? List.of() : List.copyOf(sc.getMaskedPathsList()),
                privileged ? List.of() : List.copyOf(sc.getReadonlyPathsList()));
    }

    /**
     * The container's seccomp filter: RuntimeDefault, a Localhost profile (read and compiled now,
     * so later edits of the file do not change the container, as with containerd), or none.
     */
    static Seccomp seccomp(LinuxContainerSecurityContext sc, long caps) {
        Optional<Path> profile = localhostProfile(sc);
        if (profile.isPresent()) {
            try {
                return new Seccomp.Localhost(profile.get(), LocalhostProfile.compile(profile.get(), Capabilities.names(caps)));
            } catch (SeccompProfileException e) {
                throw CriException.invalid(e.getMessage());
            }
        }
        return runtimeDefaultSeccomp(sc) ? new Seccomp.RuntimeDefault() : new Seccomp.Unconfined();
    }

    /**
     * The Localhost profile's file: {@code SecurityProfile.localhost_ref}, or the deprecated
     * {@code seccomp_profile_path} "localhost/&lt;absolute path&gt;"; it must be a clean absolute path.
     */
    static Optional<Path> localhostProfile(LinuxContainerSecurityContext sc) {
        String ref;
        if (sc.hasSeccomp()) {
            if (sc.getSeccomp().getProfileType() != SecurityProfile.ProfileType.Localhost) {
                return Optional.empty();
            }
            ref = sc.getSeccomp().getLocalhostRef();
        } else if (sc.getSeccompProfilePath().startsWith("localhost/")) {
            ref = sc.getSeccompProfilePath().substring("localhost/".length());
        } else {
            return Optional.empty();
        }
        if (ref.isEmpty()) {
            throw CriException.invalid("seccomp profile type Localhost needs localhost_ref, the profile file's path on the node");
        }
        return Optional.of(PathRules.requireCleanAbsolute("seccomp localhost_ref", ref));
    }

    /** RuntimeDefault (or the deprecated "runtime/default" / "docker/default" path) asks for the filter. */
    static boolean runtimeDefaultSeccomp(LinuxContainerSecurityContext sc) {
        if (sc.hasSeccomp()) {
            return sc.getSeccomp().getProfileType() == SecurityProfile.ProfileType.RuntimeDefault;
        }
        String path = sc.getSeccompProfilePath();
        return path.equals("runtime/default") || path.equals("docker/default");
    }

    static List<LaunchSpec.BindMount> mounts(ContainerConfig c) {
        return c.getMountsList().stream().map(LaunchPlanner::mount).toList();
    }

    static List<LaunchSpec.Device> devices(ContainerConfig c) {
        List<LaunchSpec.Device> out = new ArrayList<>();
        for (Device d : c.getDevicesList()) {
            Path host = Path.of(d.getHostPath());
            if (!Files.exists(host, LinkOption.NOFOLLOW_LINKS) && !Files.exists(host)) {
                throw CriException.invalid("device host_path '" + host + "' does not exist");
            }
            out.add(device(d));
        }
        return out;
    }

    /** Whether the sandbox's log directory is usable for this container's log path. */
    static Optional<Path> logPath(SandboxRecord sandbox, ContainerConfig c) {
        if (c.getLogPath().isEmpty()) {
            return Optional.empty();
        }
        if (sandbox.logDirectory().isEmpty()) {
            throw CriException.invalid("log_path '" + RequestLimits.printable(c.getLogPath()) + "' is given but the sandbox has no log_directory");
        }
        return Optional.of(PathRules.resolveLogPath(Path.of(sandbox.logDirectory()), c.getLogPath()));
    }
}
