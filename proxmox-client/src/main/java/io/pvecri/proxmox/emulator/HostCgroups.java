package io.pvecri.proxmox.emulator;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which cgroup hierarchy each controller lives in on this host ({@code PVE::CGroup::get_cgroup_controllers}):
 * a v1 mount naming it in its options, or the unified (v2) hierarchy listing it in
 * {@code cgroup.controllers}. A hybrid host (v1 controllers plus an empty v2 at
 * {@code /sys/fs/cgroup/unified}) has every controller in v1. Also whether AppArmor is in the kernel.
 *
 * @param v1          controller → v1 mount point
 * @param v2          controllers of the unified hierarchy
 * @param v2Mount     the unified hierarchy's mount point, if mounted
 * @param memsw       whether v1 memory has swap accounting ({@code memory.memsw.limit_in_bytes})
 * @param apparmor    whether the kernel has AppArmor enabled
 * @param cpus        the CPUs this process may use (its {@code Cpus_allowed_list})
 */
record HostCgroups(Map<String, Path> v1, List<String> v2, Optional<Path> v2Mount, boolean memsw, boolean apparmor,
                   List<Integer> cpus) {

    enum Version { V1, V2, NONE }

    Version version(String controller) {
        if (v1.containsKey(controller)) {
            return Version.V1;
        }
        if (controller.equals("devices") && v2Mount.isPresent()) {
            return Version.V2; // cgroup v2 controls devices with BPF, not a listed controller
        }
        return v2.contains(controller) ? Version.V2 : Version.NONE;
    }

    /** The {@code lxc.cgroup.} or {@code lxc.cgroup2.} prefix for a controller's keys (v2 when absent). */
    String prefix(String controller) {
        return version(controller) == Version.V1 ? "lxc.cgroup." : "lxc.cgroup2.";
    }

    static HostCgroups detect() {
        Map<String, Path> v1 = new HashMap<>();
        Path unified = null;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
                // id parent major:minor root mountpoint options [optional...] - fstype source superoptions
                int dash = line.indexOf(" - ");
                if (dash < 0) {
                    continue;
                }
                String[] pre = line.substring(0, dash).split(" ");
                String[] post = line.substring(dash + 3).split(" ");
                if (pre.length < 5 || post.length < 3) {
                    continue;
                }
                Path mountPoint = Path.of(unescape(pre[4]));
                if (post[0].equals("cgroup2")) {
                    unified = mountPoint;
                } else if (post[0].equals("cgroup")) {
                    for (String opt : post[2].split(",")) {
                        if (List.of("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "hugetlb",
                                "net_cls", "net_prio", "perf_event", "rdma", "misc").contains(opt)) {
                            v1.putIfAbsent(opt, mountPoint);
                        }
                    }
                }
            }
        } catch (IOException e) {
            // no /proc: nothing is known, limits are written in v2 syntax
        }
        List<String> v2 = List.of();
        if (unified != null) {
            try {
                v2 = List.of(Files.readString(unified.resolve("cgroup.controllers")).strip().split("\\s+"));
            } catch (IOException e) {
                v2 = List.of();
            }
        }
        boolean memsw = false;
        if (v1.containsKey("memory")) {
            memsw = Files.exists(v1.get("memory").resolve(selfCgroup("memory")).resolve("memory.memsw.limit_in_bytes"))
                    || Files.exists(v1.get("memory").resolve("memory.memsw.limit_in_bytes"));
        }
        boolean apparmor;
        try {
            apparmor = Files.readString(Path.of("/sys/module/apparmor/parameters/enabled")).strip().equals("Y");
        } catch (IOException e) {
            apparmor = false;
        }
        return new HostCgroups(Map.copyOf(v1), v2.stream().filter(s -> !s.isEmpty()).toList(), Optional.ofNullable(unified),
                memsw, apparmor, allowedCpus());
    }

    /** This process's cgroup path (relative) in the v1 hierarchy of {@code controller}. */
    private static String selfCgroup(String controller) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"))) {
                String[] f = line.split(":", 3);
                if (f.length == 3 && List.of(f[1].split(",")).contains(controller)) {
                    return f[2].startsWith("/") ? f[2].substring(1) : f[2];
                }
            }
        } catch (IOException e) {
            // fall through
        }
        return "";
    }

    private static List<Integer> allowedCpus() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("Cpus_allowed_list:")) {
                    return parseCpuList(line.substring(line.indexOf(':') + 1).strip());
                }
            }
        } catch (IOException e) {
            // fall through
        }
        int n = Runtime.getRuntime().availableProcessors();
        return java.util.stream.IntStream.range(0, n).boxed().toList();
    }

    static List<Integer> parseCpuList(String list) {
        List<Integer> out = new java.util.ArrayList<>();
        for (String part : list.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            int dash = part.indexOf('-');
            if (dash < 0) {
                out.add(Integer.parseInt(part.strip()));
            } else {
                int a = Integer.parseInt(part.substring(0, dash).strip());
                int b = Integer.parseInt(part.substring(dash + 1).strip());
                for (int i = a; i <= b; i++) {
                    out.add(i);
                }
            }
        }
        return List.copyOf(out);
    }

    /** mountinfo escapes space, tab, newline and backslash as octal. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 3 < s.length()
                    && Character.isDigit(s.charAt(i + 1)) && Character.isDigit(s.charAt(i + 2)) && Character.isDigit(s.charAt(i + 3))) {
                b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
                i += 3;
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
