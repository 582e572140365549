package io.pvecri.daemon.server;

import io.pvecri.daemon.util.Times;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.container.ContainerRecord;
import io.pvecri.daemon.container.ResourceControl;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.proto.cri.v1.ContainerStats;
import io.pvecri.proto.cri.v1.LinuxPodSandboxStats;
import io.pvecri.proto.cri.v1.NetworkInterfaceUsage;
import io.pvecri.proto.cri.v1.NetworkUsage;
import io.pvecri.proto.cri.v1.PodSandboxAttributes;
import io.pvecri.proto.cri.v1.PodSandboxStats;
import io.pvecri.proto.cri.v1.ProcessUsage;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Pod stats: the sum of its running containers' cgroup counters, plus the pod network
 * namespace's interface counters read from {@code /proc/<pid>/net/dev} of a process inside it.
 */
final class PodStatsReader {
    private final ContainerManager containers;

    PodStatsReader(ContainerManager containers) {
        this.containers = containers;
    }

    PodSandboxStats read(SandboxRecord pod) {
        long ts = Times.nowNanos();
        long cpu = 0, ws = 0, usage = 0, rss = 0, faults = 0, major = 0, avail = 0, pids = 0;
        List<ContainerStats> per = new ArrayList<>();
        long netPid = 0;
        for (ContainerRecord r : containers.inSandbox(pod.id())) {
            if (r.state() != ContainerRecord.State.RUNNING) {
                continue;
            }
            ResourceControl.Stats s = containers.stats(r);
            per.add(CriMapper.containerStats(r, s, containers.writableLayer(r.id()).toString()));
            cpu += s.cpuCoreNanos();
            ws += s.workingSetBytes();
            usage += s.usageBytes();
            rss += s.rssBytes();
            faults += s.pageFaults();
            major += s.majorPageFaults();
            avail += s.availableBytes();
            pids += s.pids();
            netPid = netPid == 0 ? r.initPid() : netPid;
        }
        ResourceControl.Stats sum = new ResourceControl.Stats(ts, cpu, ws, usage, rss, faults, major, avail, 0, 0, pids);
        LinuxPodSandboxStats.Builder linux = LinuxPodSandboxStats.newBuilder()
                .setCpu(CriMapper.cpu(ts, cpu)).setMemory(CriMapper.memory(sum))
                .setProcess(ProcessUsage.newBuilder().setTimestamp(ts).setProcessCount(CriMapper.u64(pids)))
                .addAllContainers(per);
        if (netPid > 0 && !pod.hostNetwork()) {
            linux.setNetwork(network(ts, netPid));
        }
        return PodSandboxStats.newBuilder().setAttributes(PodSandboxAttributes.newBuilder().setId(pod.id())
                        .setMetadata(CriMapper.metadata(pod)).putAllLabels(pod.labels()).putAllAnnotations(pod.annotations()))
                .setLinux(linux).build();
    }

    static NetworkUsage network(long ts, long pid) {
        NetworkUsage.Builder b = NetworkUsage.newBuilder().setTimestamp(ts);
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc", Long.toString(pid), "net", "dev"));
            for (String line : lines.subList(Math.min(2, lines.size()), lines.size())) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String name = line.substring(0, colon).strip();
                String[] f = line.substring(colon + 1).strip().split("\\s+");
                if (f.length < 11) {
                    continue;
                }
                NetworkInterfaceUsage u = NetworkInterfaceUsage.newBuilder().setName(name)
                        .setRxBytes(CriMapper.u64(Long.parseLong(f[0]))).setRxErrors(CriMapper.u64(Long.parseLong(f[2])))
                        .setTxBytes(CriMapper.u64(Long.parseLong(f[8]))).setTxErrors(CriMapper.u64(Long.parseLong(f[10]))).build();
                if (name.equals("eth0") || (!b.hasDefaultInterface() && !name.equals("lo"))) {
                    b.setDefaultInterface(u);
                }
                b.addInterfaces(u);
            }
        } catch (IOException | NumberFormatException e) {
            // The process just exited: report no interfaces rather than fail the whole call.
        }
        return b.build();
    }
}
