package io.pvecri.daemon.streaming;

import io.pvecri.daemon.backend.ContainerBackend;
import io.pvecri.daemon.container.ContainerManager;
import io.pvecri.daemon.container.ContainerRecord;
import io.pvecri.daemon.errors.CriException;
import io.pvecri.daemon.pod.PodManager;
import io.pvecri.daemon.pod.SandboxRecord;
import io.pvecri.proto.cri.v1.ContainerConfig;

import com.google.protobuf.InvalidProtocolBufferException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The streaming runtime of the local LXC backend: processes are started with
 * {@code lxc-attach ... -- /.pve-cri/init exec [--tty] -- CMD} (the shim's exec mode gives them
 * the main process's user, env and working directory), attach goes to the shim's socket in
 * {@code <containersDir>/<id>/shim/attach.sock}, and port-forward enters the pod's netns file.
 */
public final class LxcStreamingRuntime implements StreamingRuntime {
    private final ContainerManager containers;
    private final PodManager pods;
    private final ContainerBackend backend;
    private final Path containersDir;
    private final Path shimBinary;

    public LxcStreamingRuntime(ContainerManager containers, PodManager pods, ContainerBackend backend, Path containersDir, Path shimBinary) {
        this.containers = containers;
        this.pods = pods;
        this.backend = backend;
        this.containersDir = containersDir;
        this.shimBinary = shimBinary;
    }

    @Override
    public Container runningContainer(String idOrPrefix) {
        ContainerRecord r = containers.status(idOrPrefix);
        if (r.state() != ContainerRecord.State.RUNNING) {
            throw CriException.precondition("container " + r.id() + " is not running (" + r.state().name().toLowerCase()
                    + "); exec, attach and port-forward need a running container");
        }
        ContainerConfig cfg;
        try {
            cfg = ContainerConfig.parseFrom(r.config());
        } catch (InvalidProtocolBufferException e) {
            cfg = ContainerConfig.getDefaultInstance();
        }
        return new Container(r.id(), cfg.getTty(), cfg.getStdin(), cfg.getStdinOnce());
    }

    @Override
    public Pod readyPod(String idOrPrefix) {
        SandboxRecord r = pods.status(idOrPrefix);
        if (r.state() != SandboxRecord.State.READY) {
            throw CriException.precondition("pod sandbox " + r.id() + " is not ready (it was stopped); port-forward needs a ready pod");
        }
        return new Pod(r.id(), r.hostNetwork() ? null : pods.netnsPath(r.id()));
    }

    @Override
    public List<String> execArgv(Container c, List<String> cmd, boolean tty) {
        List<String> argv = new ArrayList<>(backend.attachCommand(c.id()));
        argv.addAll(List.of("--clear-env", "--", "/.pve-cri/init", "exec"));
        if (tty) {
            argv.add("--tty");
        }
        argv.add("--");
        argv.addAll(cmd);
        return argv;
    }

    @Override
    public Path attachSocket(Container c) {
        return containersDir.resolve(c.id()).resolve("shim").resolve("attach.sock");
    }

    @Override
    public Path shimBinary() {
        return shimBinary;
    }

    @Override
    public boolean execSetsRawTerminal() {
        return true; // lxc-attach proxies the terminal and puts ours in raw mode
    }
}
