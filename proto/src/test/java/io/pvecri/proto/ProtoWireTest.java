package io.pvecri.proto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.grpc.MethodDescriptor.MethodType;
import io.pvecri.proto.admin.v1.AdminProto;
import io.pvecri.proto.admin.v1.AdminServiceGrpc;
import io.pvecri.proto.cri.v1.ContainerConfig;
import io.pvecri.proto.cri.v1.CriApiProto;
import io.pvecri.proto.cri.v1.DNSConfig;
import io.pvecri.proto.cri.v1.ImageServiceGrpc;
import io.pvecri.proto.cri.v1.KeyValue;
import io.pvecri.proto.cri.v1.LinuxContainerResources;
import io.pvecri.proto.cri.v1.LinuxPodSandboxConfig;
import io.pvecri.proto.cri.v1.NamespaceMode;
import io.pvecri.proto.cri.v1.NamespaceOption;
import io.pvecri.proto.cri.v1.LinuxSandboxSecurityContext;
import io.pvecri.proto.cri.v1.PodSandboxConfig;
import io.pvecri.proto.cri.v1.PodSandboxMetadata;
import io.pvecri.proto.cri.v1.PortMapping;
import io.pvecri.proto.cri.v1.Protocol;
import io.pvecri.proto.cri.v1.RunPodSandboxRequest;
import io.pvecri.proto.cri.v1.RuntimeServiceGrpc;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Checks the generated CRI and admin protocol code against facts clients rely on. */
class ProtoWireTest {

  /** Every RuntimeService RPC of k8s.io/cri-api v0.36.3. */
  private static final List<String> RUNTIME_RPCS = List.of(
      "Version",
      "RunPodSandbox", "StopPodSandbox", "RemovePodSandbox", "PodSandboxStatus",
      "ListPodSandbox", "StreamPodSandboxes",
      "CreateContainer", "StartContainer", "StopContainer", "RemoveContainer",
      "ListContainers", "StreamContainers", "ContainerStatus",
      "UpdateContainerResources", "ReopenContainerLog",
      "ExecSync", "Exec", "Attach", "PortForward",
      "ContainerStats", "ListContainerStats", "StreamContainerStats",
      "PodSandboxStats", "ListPodSandboxStats", "StreamPodSandboxStats",
      "UpdateRuntimeConfig", "Status", "CheckpointContainer", "GetContainerEvents",
      "ListMetricDescriptors", "ListPodSandboxMetrics", "StreamPodSandboxMetrics",
      "RuntimeConfig", "UpdatePodSandboxResources");

  /** Every ImageService RPC of k8s.io/cri-api v0.36.3. */
  private static final List<String> IMAGE_RPCS = List.of(
      "ListImages", "StreamImages", "ImageStatus", "PullImage", "RemoveImage", "ImageFsInfo");

  /** The RPCs that are server-streaming upstream; all others are unary. */
  private static final Set<String> SERVER_STREAMING = Set.of(
      "StreamPodSandboxes", "StreamContainers", "StreamContainerStats",
      "StreamPodSandboxStats", "GetContainerEvents", "StreamPodSandboxMetrics", "StreamImages");

  private static final FileDescriptor CRI = CriApiProto.getDescriptor();

  @Test
  void fileIdentity() {
    assertEquals("runtime.v1", CRI.getPackage());
    assertEquals("proto3", CRI.toProto().getSyntax());
    assertEquals(List.of(), CRI.getDependencies(), "api.proto must not import anything");
    assertEquals("runtime.v1.RuntimeService", RuntimeServiceGrpc.SERVICE_NAME);
    assertEquals("runtime.v1.ImageService", ImageServiceGrpc.SERVICE_NAME);
    assertEquals(List.of("RuntimeService", "ImageService"),
        CRI.getServices().stream().map(ServiceDescriptor::getName).toList());
  }

  @Test
  void runtimeServiceHasExactlyTheUpstreamRpcs() {
    assertEquals(new TreeSet<>(RUNTIME_RPCS), rpcNames("RuntimeService"));
    assertEquals(35, RUNTIME_RPCS.size());
  }

  @Test
  void imageServiceHasExactlyTheUpstreamRpcs() {
    assertEquals(new TreeSet<>(IMAGE_RPCS), rpcNames("ImageService"));
  }

  @Test
  void grpcMethodTypesAndFullNames() {
    List<io.grpc.MethodDescriptor<?, ?>> methods = new ArrayList<>();
    RuntimeServiceGrpc.getServiceDescriptor().getMethods().forEach(methods::add);
    ImageServiceGrpc.getServiceDescriptor().getMethods().forEach(methods::add);
    assertEquals(RUNTIME_RPCS.size() + IMAGE_RPCS.size(), methods.size());
    for (io.grpc.MethodDescriptor<?, ?> m : methods) {
      String rpc = m.getBareMethodName();
      MethodType expected = SERVER_STREAMING.contains(rpc) ? MethodType.SERVER_STREAMING : MethodType.UNARY;
      assertEquals(expected, m.getType(), rpc);
    }
    assertEquals("runtime.v1.RuntimeService/RunPodSandbox",
        RuntimeServiceGrpc.getRunPodSandboxMethod().getFullMethodName());
    assertEquals("runtime.v1.ImageService/PullImage",
        ImageServiceGrpc.getPullImageMethod().getFullMethodName());
  }

  @Test
  void rpcSignatures() {
    MethodDescriptor events = CRI.findServiceByName("RuntimeService").findMethodByName("GetContainerEvents");
    assertEquals("runtime.v1.GetEventsRequest", events.getInputType().getFullName());
    assertEquals("runtime.v1.ContainerEventResponse", events.getOutputType().getFullName());
    assertFalse(events.isClientStreaming());
    MethodDescriptor version = CRI.findServiceByName("RuntimeService").findMethodByName("Version");
    assertEquals("runtime.v1.VersionRequest", version.getInputType().getFullName());
    assertEquals("runtime.v1.VersionResponse", version.getOutputType().getFullName());
  }

  @Test
  void messageAndEnumCounts() {
    // Upstream v0.36.3: 170 messages (not counting synthetic map entries), 11 enums.
    assertEquals(170, countMessages(CRI.getMessageTypes()));
    int enums = CRI.getEnumTypes().size();
    for (Descriptor d : CRI.getMessageTypes()) {
      enums += d.getEnumTypes().size();
    }
    assertEquals(11, enums);
  }

  @Test
  void keyValueValueIsBytesField2() {
    FieldDescriptor key = field("KeyValue", "key");
    assertEquals(1, key.getNumber());
    assertEquals(FieldDescriptor.Type.STRING, key.getType());
    FieldDescriptor value = field("KeyValue", "value");
    assertEquals(2, value.getNumber());
    assertEquals(FieldDescriptor.Type.BYTES, value.getType());
    KeyValue kv = KeyValue.newBuilder().setKey("A").setValue(ByteString.copyFromUtf8("b")).build();
    // key = 1 (0x0a), value = 2 (0x12), both length-delimited
    assertArrayEquals(new byte[] {0x0a, 1, 'A', 0x12, 1, 'b'}, kv.toByteArray());
  }

  @Test
  void spotCheckedFieldNumbersAndTypes() {
    assertField("PodSandboxConfig", "metadata", 1, FieldDescriptor.Type.MESSAGE, false);
    assertField("PodSandboxConfig", "log_directory", 3, FieldDescriptor.Type.STRING, false);
    assertField("PodSandboxConfig", "port_mappings", 5, FieldDescriptor.Type.MESSAGE, true);
    assertField("PodSandboxConfig", "linux", 8, FieldDescriptor.Type.MESSAGE, false);
    assertField("ContainerConfig", "log_path", 11, FieldDescriptor.Type.STRING, false);
    assertField("ContainerConfig", "envs", 6, FieldDescriptor.Type.MESSAGE, true);
    assertField("ContainerConfig", "CDI_devices", 17, FieldDescriptor.Type.MESSAGE, true);
    assertField("ContainerConfig", "stop_signal", 18, FieldDescriptor.Type.ENUM, false);
    assertField("LinuxContainerResources", "memory_limit_in_bytes", 4, FieldDescriptor.Type.INT64, false);
    assertField("LinuxContainerResources", "memory_swap_limit_in_bytes", 10, FieldDescriptor.Type.INT64, false);
    assertField("LinuxSandboxSecurityContext", "run_as_group", 8, FieldDescriptor.Type.MESSAGE, false);
    assertField("LinuxSandboxSecurityContext", "supplemental_groups_policy", 11, FieldDescriptor.Type.ENUM, false);
    assertField("Mount", "uidMappings", 6, FieldDescriptor.Type.MESSAGE, true);
    assertField("ImageSpec", "user_specified_image", 18, FieldDescriptor.Type.STRING, false);
    assertField("ImageSpec", "image_ref", 20, FieldDescriptor.Type.STRING, false);
    assertField("Image", "size", 4, FieldDescriptor.Type.UINT64, false);
    assertField("ContainerStatus", "exit_code", 7, FieldDescriptor.Type.INT32, false);
    assertField("ExecSyncResponse", "stdout", 1, FieldDescriptor.Type.BYTES, false);
    assertField("PsiData", "Avg10", 2, FieldDescriptor.Type.DOUBLE, false);

    FieldDescriptor labels = field("PodSandboxConfig", "labels");
    assertEquals(6, labels.getNumber());
    assertTrue(labels.isMapField());

    EnumDescriptor signal = CRI.findEnumTypeByName("Signal");
    assertEquals(65, signal.findValueByName("SIGRTMAX").getNumber());
    assertEquals(23, signal.findValueByName("SIGTERM").getNumber());
    assertEquals(2, CRI.findEnumTypeByName("NamespaceMode").findValueByName("NODE").getNumber());
    assertEquals(1, CRI.findEnumTypeByName("ContainerState").findValueByName("CONTAINER_RUNNING").getNumber());
    assertEquals(2, CRI.findMessageTypeByName("SecurityProfile").findEnumTypeByName("ProfileType")
        .findValueByName("Localhost").getNumber());
  }

  @Test
  void runPodSandboxRequestRoundTrip() throws Exception {
    RunPodSandboxRequest request = RunPodSandboxRequest.newBuilder()
        .setConfig(PodSandboxConfig.newBuilder()
            .setMetadata(PodSandboxMetadata.newBuilder()
                .setName("nginx").setUid("0f6c-11ee").setNamespace("default").setAttempt(2))
            .setHostname("nginx")
            .setLogDirectory("/var/log/pods/default_nginx_0f6c-11ee")
            .setDnsConfig(DNSConfig.newBuilder().addServers("10.96.0.10").addSearches("svc.cluster.local"))
            .addPortMappings(PortMapping.newBuilder()
                .setProtocol(Protocol.UDP).setContainerPort(53).setHostPort(5353))
            .putLabels("app", "nginx")
            .putAnnotations("pve-cri/node", "pve1")
            .setLinux(LinuxPodSandboxConfig.newBuilder()
                .setCgroupParent("/kubepods/besteffort")
                .putSysctls("net.ipv4.ip_forward", "1")
                .setSecurityContext(LinuxSandboxSecurityContext.newBuilder()
                    .setNamespaceOptions(NamespaceOption.newBuilder().setNetwork(NamespaceMode.NODE)))
                .setResources(LinuxContainerResources.newBuilder().setMemoryLimitInBytes(256L << 20))))
        .setRuntimeHandler("lxc")
        .build();

    byte[] wire = request.toByteArray();
    RunPodSandboxRequest parsed = RunPodSandboxRequest.parseFrom(wire);
    assertEquals(request, parsed);
    assertEquals("nginx", parsed.getConfig().getMetadata().getName());
    assertEquals(2, parsed.getConfig().getMetadata().getAttempt());
    assertEquals(Protocol.UDP, parsed.getConfig().getPortMappings(0).getProtocol());
    assertEquals(Map.of("app", "nginx"), parsed.getConfig().getLabelsMap());
    assertEquals(NamespaceMode.NODE,
        parsed.getConfig().getLinux().getSecurityContext().getNamespaceOptions().getNetwork());
    assertEquals(256L << 20, parsed.getConfig().getLinux().getResources().getMemoryLimitInBytes());
    assertEquals("lxc", parsed.getRuntimeHandler());

    // Byte-exact encoding of a minimal request, as any CRI client (the kubelet) would send it:
    // config(1){ metadata(1){ name(1)="a" } }, runtime_handler(2)="x".
    RunPodSandboxRequest minimal = RunPodSandboxRequest.newBuilder()
        .setConfig(PodSandboxConfig.newBuilder().setMetadata(PodSandboxMetadata.newBuilder().setName("a")))
        .setRuntimeHandler("x")
        .build();
    byte[] expected = {0x0a, 5, 0x0a, 3, 0x0a, 1, 'a', 0x12, 1, 'x'};
    assertArrayEquals(expected, minimal.toByteArray());
    assertEquals(minimal, RunPodSandboxRequest.parseFrom(expected));
  }

  @Test
  void containerConfigEnvsCarryBytes() throws Exception {
    byte[] raw = {(byte) 0xff, 0, 'z'};
    ContainerConfig config = ContainerConfig.newBuilder()
        .addEnvs(KeyValue.newBuilder().setKey("BIN").setValue(ByteString.copyFrom(raw)))
        .setLogPath("nginx/0.log")
        .build();
    ContainerConfig parsed = ContainerConfig.parseFrom(config.toByteString());
    assertArrayEquals(raw, parsed.getEnvs(0).getValue().toByteArray());
    assertEquals("nginx/0.log", parsed.getLogPath());
  }

  @Test
  void adminService() {
    FileDescriptor admin = AdminProto.getDescriptor();
    assertEquals("pvecri.admin.v1", admin.getPackage());
    assertEquals("pvecri.admin.v1.AdminService", AdminServiceGrpc.SERVICE_NAME);
    Set<String> rpcs = admin.findServiceByName("AdminService").getMethods().stream()
        .map(MethodDescriptor::getName).collect(Collectors.toCollection(TreeSet::new));
    assertEquals(new TreeSet<>(List.of("CollectImageGarbage", "DaemonInfo", "ImportImage", "ListGpuAllocations")), rpcs);
    Descriptor importRequest = admin.findMessageTypeByName("ImportImageRequest");
    assertEquals(1, importRequest.findFieldByName("path").getNumber());
    assertEquals(2, importRequest.findFieldByName("name").getNumber());
    Descriptor imported = admin.findMessageTypeByName("ImportedImage");
    assertEquals(4, imported.findFieldByName("size").getNumber());
    assertEquals(FieldDescriptor.Type.UINT64, imported.findFieldByName("size").getType());
    assertNotNull(admin.findMessageTypeByName("DaemonInfoResponse").findFieldByName("started_at_unix_nanos"));
  }

  private static Set<String> rpcNames(String service) {
    ServiceDescriptor sd = CRI.findServiceByName(service);
    assertNotNull(sd, service);
    return sd.getMethods().stream().map(MethodDescriptor::getName)
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static int countMessages(List<Descriptor> types) {
    int n = 0;
    for (Descriptor d : types) {
      if (d.getOptions().getMapEntry()) {
        continue;
      }
      n += 1 + countMessages(d.getNestedTypes());
    }
    return n;
  }

  private static FieldDescriptor field(String message, String name) {
    Descriptor d = CRI.findMessageTypeByName(message);
    assertNotNull(d, message);
    FieldDescriptor f = d.findFieldByName(name);
    assertNotNull(f, message + "." + name);
    return f;
  }

  private static void assertField(String message, String name, int number, FieldDescriptor.Type type,
      boolean repeated) {
    FieldDescriptor f = field(message, name);
    String where = message + "." + name;
    assertEquals(number, f.getNumber(), where);
    assertEquals(type, f.getType(), where);
    assertEquals(repeated, f.isRepeated(), where);
  }
}
