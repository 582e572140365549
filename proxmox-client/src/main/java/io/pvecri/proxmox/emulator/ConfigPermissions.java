package io.pvecri.proxmox.emulator;

import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code PVE::LXC::check_ct_modify_config_perm}: the privilege each config key needs, and what only
 * {@code root@pam} may set. Every emulator request comes from an API token, whose user
 * ({@code user@realm!token}) is never {@code root@pam}, so bind and device mount points, {@code devN},
 * {@code hookscript} and feature flags other than {@code nesting} are always refused, with PVE's words.
 */
final class ConfigPermissions {

    private ConfigPermissions() {
    }

    /**
     * @param oldConf      the config before the change (null on create)
     * @param newConf      the keys being set
     * @param delete       the keys being deleted
     * @param unprivileged whether the CT is (or will be) unprivileged
     */
    static void check(EmulatedCluster cluster, int vmid, Map<String, String> oldConf, Map<String, String> newConf,
                      Collection<String> delete, boolean unprivileged) {
        String vm = "/vms/" + vmid;
        for (var e : newConf.entrySet()) {
            check(cluster, vm, e.getKey(), e.getValue(), false, oldConf, unprivileged);
        }
        for (String k : delete) {
            check(cluster, vm, k, null, true, oldConf, unprivileged);
        }
    }

    private static void check(EmulatedCluster cluster, String vm, String opt, String value, boolean delete,
                              Map<String, String> oldConf, boolean unprivileged) {
        if (opt.equals("cores") || opt.equals("cpuunits") || opt.equals("cpulimit")) {
            cluster.check(vm, "VM.Config.CPU");
        } else if (opt.equals("rootfs") || opt.matches("mp\\d+")) {
            cluster.check(vm, "VM.Config.Disk");
            if (delete) {
                return;
            }
            String volume = LxcConfigGenerator.propertyString(value, "volume").getOrDefault("volume", "");
            String type = volume.startsWith("/dev/") ? "device" : volume.startsWith("/") ? "bind" : "volume";
            if (!type.equals("volume")) {
                throw PveError.perm("mount point type " + type + " is only allowed for root@pam");
            }
            var m = java.util.regex.Pattern.compile("^(?:([a-zA-Z0-9][a-zA-Z0-9._-]*):)?\\d+(?:\\.\\d+)?$").matcher(volume);
            if (m.matches() && m.group(1) != null) {
                cluster.check("/storage/" + m.group(1), "Datastore.AllocateSpace");
            }
        } else if (opt.equals("memory") || opt.equals("swap")) {
            cluster.check(vm, "VM.Config.Memory");
        } else if (opt.matches("net\\d+")) {
            cluster.check(vm, "VM.Config.Network");
        } else if (opt.matches("dev\\d+")) {
            throw PveError.perm("configuring device passthrough is only allowed for root@pam");
        } else if (opt.equals("nameserver") || opt.equals("searchdomain") || opt.equals("hostname")) {
            cluster.check(vm, "VM.Config.Network");
        } else if (opt.equals("features")) {
            features(cluster, vm, value, delete, oldConf, unprivileged);
        } else if (opt.equals("hookscript")) {
            throw PveError.perm("changing the hookscript is only allowed for root@pam");
        } else {
            cluster.check(vm, "VM.Config.Options");
        }
    }

    private static void features(EmulatedCluster cluster, String vm, String value, boolean delete, Map<String, String> oldConf,
                                 boolean unprivileged) {
        if (!unprivileged) {
            throw PveError.perm("changing feature flags for privileged container is only allowed for root@pam");
        }
        boolean nestingChanged = false;
        boolean otherChanged = false;
        Map<String, String> old = LxcConfigGenerator.propertyString(oldConf == null ? "" : oldConf.getOrDefault("features", ""), null);
        if (!delete) {
            Map<String, String> now = LxcConfigGenerator.propertyString(value, null);
            if (!old.isEmpty()) {
                Set<String> keys = new HashSet<>(old.keySet());
                keys.addAll(now.keySet());
                for (String f : keys) {
                    if (!old.getOrDefault(f, "").equals(now.getOrDefault(f, ""))) {
                        if (f.equals("nesting")) {
                            nestingChanged = true;
                        } else {
                            otherChanged = true;
                            break;
                        }
                    }
                }
            } else if (now.size() == 1 && now.containsKey("nesting")) {
                nestingChanged = true;
            } else if (!now.isEmpty()) {
                otherChanged = true;
            }
        } else if (old.size() == 1 && old.containsKey("nesting")) {
            nestingChanged = true;
        } else if (!old.isEmpty()) {
            otherChanged = true;
        }
        if (otherChanged) {
            throw PveError.perm("changing feature flags (except nesting) is only allowed for root@pam");
        }
        if (nestingChanged) {
            cluster.check(vm, "VM.Allocate");
        }
    }

    /** Keys whose value names a storage volume ({@code rootfs}, {@code mpN}). */
    static List<String> volumeKeys(Map<String, String> conf) {
        return conf.keySet().stream().filter(k -> k.equals("rootfs") || k.matches("mp\\d+")).sorted().toList();
    }
}
