package io.pvecri.daemon.proxmox;

import io.pvecri.daemon.config.ProxmoxSection;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The privileges pve-cri's API token needs, on the ACL paths it uses: the one list (docs/proxmox.md,
 * "API token and privileges", shows the same). {@link ProxmoxBackend#validate()} checks them at start
 * with {@code GET /access/permissions}.
 *
 * @param path       ACL path, e.g. {@code /vms} or {@code /storage/local}
 * @param privileges what the token needs there
 */
record RequiredPrivileges(String path, List<String> privileges) {

    /** The role docs/proxmox.md has the operator create, holding {@link #all()}. */
    static final String ROLE = "PveCri";

    /** On {@code /vms} (every CT pve-cri makes is {@code /vms/<vmid>}). */
    static final List<String> VMS = List.of("VM.Allocate", "VM.Clone", "VM.Audit", "VM.PowerMgmt", "VM.Config.CPU",
            "VM.Config.Memory", "VM.Config.Disk", "VM.Config.Options", "VM.Config.Network");
    /** On the template storage: upload and delete the image archives. */
    static final List<String> TEMPLATE_STORAGE = List.of("Datastore.AllocateTemplate", "Datastore.Allocate", "Datastore.Audit");
    /** On the rootfs storage: the templates' and clones' volumes. */
    static final List<String> ROOTFS_STORAGE = List.of("Datastore.AllocateSpace", "Datastore.Audit");
    /** On the node: task status and logs. */
    static final List<String> NODE = List.of("Sys.Audit");

    RequiredPrivileges {
        privileges = List.copyOf(privileges);
    }

    /** What {@code s} needs, path by path. */
    static List<RequiredPrivileges> of(ProxmoxSection.Settings s) {
        return List.of(new RequiredPrivileges("/vms", VMS),
                new RequiredPrivileges("/storage/" + s.templateStorage(), TEMPLATE_STORAGE),
                new RequiredPrivileges("/storage/" + s.rootfsStorage(), ROOTFS_STORAGE),
                new RequiredPrivileges("/nodes/" + s.node(), NODE));
    }

    /** Every privilege on the list, once: what the {@value #ROLE} role holds. */
    static Set<String> all() {
        Set<String> out = new LinkedHashSet<>();
        List.of(VMS, TEMPLATE_STORAGE, ROOTFS_STORAGE, NODE).forEach(out::addAll);
        return out;
    }

    /** The start-up problem for {@code privilege} missing on this path, with the fix. */
    String missing(String tokenId, String privilege) {
        return "the API token " + tokenId + " lacks " + privilege + " on " + path + "; grant it: pveum acl modify " + path
                + " --tokens '" + tokenId + "' --roles " + ROLE + " (the " + ROLE + " role of docs/proxmox.md;"
                + " with privsep the token's user must hold it too)";
    }
}
