package io.pvecri.network;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * CNI mode: the first valid config of the config dir, run with the standard plugins. The exact
 * network list used for ADD and its result are kept in the pod record, so DEL runs with them on
 * teardown even after a restart or a config change.
 */
final class CniBackend implements NetworkBackend {
    private static final System.Logger LOG = System.getLogger(CniBackend.class.getName());

    private final CniConfigLoader loader;
    private final CniRunner runner;
    private final PodRecordStore records;
    private final HostTools host;

    CniBackend(NetworkConfig cfg, HostTools host, PodRecordStore records) {
        this.loader = new CniConfigLoader(cfg.cni().confDir(), cfg.cni().binDirs());
        this.runner = new CniRunner(host.netns(), cfg.cni().binDirs(), cfg.commandTimeout(), loader::plugin);
        this.records = records;
        this.host = host;
    }

    @Override
    public String mode() {
        return "cni";
    }

    @Override
    public PodRecord attach(PodRecord pending, PodNetworkRequest req) throws NetworkException {
        CniNetworkList list = switch (loader.current()) {
            case CniConfigLoader.Config c -> c.list();
            case CniConfigLoader.Missing m -> throw new NetworkException.NotReady("cni config uninitialized: " + m.reason());
        };
        List<String> bridges = list.bridgeNames();
        PodRecord rec = new PodRecord(pending.podId(), pending.state(), pending.mode(), pending.name(), pending.namespace(),
                pending.uid(), pending.netns(), bridges.isEmpty() ? null : bridges.getFirst(), null, null, null, List.of(),
                null, null, pending.stableKey(), pending.ports(), pending.dns(), pending.hostname(),
                new PodRecord.CniState(list.raw(), null), pending.createdAt(), null);
        records.update(rec); // before ADD: a crash mid-ADD still gets its DEL
        try {
            // as containerd's built-in loopback step: plugins only wire eth0
            host.in(Netns.of(req.netnsPath())).ip("link", "set", "lo", "up");
        } catch (IOException e) {
            throw new NetworkException.SetupFailed("cannot bring up loopback of pod " + rec.podId() + ": " + e.getMessage(), e);
        }
        JsonNode result = runner.add(list, invocation(rec, false));
        CniResult parsed = CniResult.parse(result, InterfaceNames.POD_IFNAME);
        if (parsed.addresses().isEmpty()) {
            throw new NetworkException.SetupFailed("cni ADD of " + list.name() + " returned no IP address");
        }
        PodRecord done = rec.withAddressing(null, parsed.mac(), parsed.addresses(), parsed.gateway(), parsed.gateway6())
                .withCni(new PodRecord.CniState(list.raw(), result));
        records.update(done);
        return done;
    }

    @Override
    public List<String> detach(PodRecord rec) {
        if (rec.cni() == null || rec.cni().networkList() == null) {
            return List.of();
        }
        CniNetworkList list;
        try {
            list = CniNetworkList.parse(rec.cni().networkList(), false);
        } catch (IllegalArgumentException e) {
            return List.of("cni DEL of pod " + rec.podId() + ": stored network list unusable: " + e.getMessage());
        }
        return runner.del(list, invocation(rec, true), rec.cni().result());
    }

    @Override
    public List<String> check(PodRecord rec) {
        if (rec.cni() == null || rec.cni().result() == null) {
            return List.of("pod " + rec.podId() + " has no CNI result");
        }
        return runner.check(CniNetworkList.parse(rec.cni().networkList(), false), invocation(rec, false), rec.cni().result());
    }

    @Override
    public List<String> reconcileHost(Collection<PodRecord> live, Set<String> livePodIds) {
        return List.of(); // plugins own their host state; records of dead pods were DELeted by the caller
    }

    @Override
    public Readiness readiness() {
        return switch (loader.current()) {
            case CniConfigLoader.Config c -> Readiness.ok();
            case CniConfigLoader.Missing m -> Readiness.notReady("NetworkPluginNotReady", "cni config uninitialized: " + m.reason());
        };
    }

    @Override
    public void updatePodCidr(String cidr) throws NetworkException {
        for (String part : cidr.split(",")) {
            Subnet.parse(part.trim());
        }
        LOG.log(System.Logger.Level.INFO, "network.pod_cidr cidr={0}: CNI mode, the plugins'' config decides addresses", cidr);
    }

    @Override
    public List<BridgeCounters> counters() {
        List<String> names = switch (loader.current()) {
            case CniConfigLoader.Config c -> c.list().bridgeNames();
            case CniConfigLoader.Missing m -> List.of();
        };
        try {
            return new BridgeManager(host, 1500).counters(names);
        } catch (IOException e) {
            return List.of();
        }
    }

    @Override
    public DnsConfig providedDns(PodRecord rec) {
        if (rec.cni() == null || rec.cni().result() == null) {
            return null;
        }
        return CniResult.parse(rec.cni().result(), InterfaceNames.POD_IFNAME).dns();
    }

    private CniRunner.Invocation invocation(PodRecord rec, boolean forDel) {
        String netns = rec.netns();
        if (forDel && (netns == null || !Files.exists(Path.of(netns)))) {
            netns = ""; // the namespace is gone: plugins still release their host side and IPAM
        }
        String args = "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + rec.namespace() + ";K8S_POD_NAME=" + rec.name()
                + ";K8S_POD_INFRA_CONTAINER_ID=" + rec.podId() + ";K8S_POD_UID=" + rec.uid();
        Map<String, JsonNode> caps = new LinkedHashMap<>();
        ArrayNode ports = Json.MAPPER.createArrayNode();
        for (PortMapping p : rec.activePorts()) {
            ObjectNode o = ports.addObject();
            o.put("hostPort", p.hostPort());
            o.put("containerPort", p.containerPort());
            o.put("protocol", p.protocol().wireName());
            if (p.hostIp() != null) {
                o.put("hostIP", p.hostIp());
            }
        }
        caps.put("portMappings", ports);
        if (rec.dns() != null && !rec.dns().isEmpty()) {
            ObjectNode dns = Json.MAPPER.createObjectNode();
            dns.set("servers", Json.MAPPER.valueToTree(rec.dns().servers()));
            dns.set("searches", Json.MAPPER.valueToTree(rec.dns().searches()));
            dns.set("options", Json.MAPPER.valueToTree(rec.dns().options()));
            caps.put("dns", dns);
        }
        return new CniRunner.Invocation(rec.podId(), netns, InterfaceNames.POD_IFNAME, args, caps);
    }
}
