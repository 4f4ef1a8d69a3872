package telcotraffic.flink;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.beam.model.pipeline.v1.Endpoints.ApiServiceDescriptor;
import org.apache.beam.runners.flink.FlinkJobInvoker;
import org.apache.beam.runners.flink.FlinkJobServerDriver;
import org.apache.beam.runners.flink.FlinkJobServerDriver.FlinkServerConfiguration;
import org.apache.beam.runners.jobsubmission.JobServerDriver;
import org.apache.beam.sdk.fn.channel.SocketAddressFactory;
import org.apache.beam.sdk.fn.server.GrpcContextHeaderAccessorProvider;
import org.apache.beam.sdk.fn.server.ServerFactory;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.BindableService;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.Server;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.ServerInterceptors;
import org.apache.beam.vendor.grpc.v1p69p0.io.grpc.netty.NettyServerBuilder;

/**
 * FlinkJobServerDriver whose job and artifact services listen on --job-host
 * only: Beam's own server factory binds every interface (NettyServerBuilder.forPort).
 */
public final class LoopbackFlinkJobServer extends JobServerDriver {
  private LoopbackFlinkJobServer(FlinkServerConfiguration config) {
    super(config, new HostServerFactory(), new HostServerFactory(), () -> FlinkJobInvoker.create(config));
  }

  public static void main(String[] args) {
    FileSystems.setDefaultPipelineOptions(PipelineOptionsFactory.create());
    new LoopbackFlinkJobServer(FlinkJobServerDriver.parseArgs(args)).run();
  }

  /** Binds the address of the descriptor (port 0: a free loopback port). */
  static final class HostServerFactory extends ServerFactory {
    @Override
    public Server allocateAddressAndCreate(List<BindableService> services, ApiServiceDescriptor.Builder descriptor)
        throws IOException {
      InetAddress loopback = InetAddress.getLoopbackAddress();
      Server server = start(services, new InetSocketAddress(loopback, 0));
      descriptor.setUrl(loopback.getHostAddress() + ":" + server.getPort());
      return server;
    }

    @Override
    public Server create(List<BindableService> services, ApiServiceDescriptor descriptor) throws IOException {
      SocketAddress address = SocketAddressFactory.createFrom(descriptor.getUrl());
      if (!(address instanceof InetSocketAddress)) {
        throw new IOException("not a host:port address: " + descriptor.getUrl());
      }
      return start(services, (InetSocketAddress) address);
    }

    private static Server start(List<BindableService> services, InetSocketAddress address) throws IOException {
      NettyServerBuilder builder = NettyServerBuilder.forAddress(address)
          .maxInboundMessageSize(Integer.MAX_VALUE)
          .permitKeepAliveTime(20, TimeUnit.SECONDS);
      for (BindableService service : services) {
        builder.addService(ServerInterceptors.intercept(service, GrpcContextHeaderAccessorProvider.interceptor()));
      }
      return builder.build().start();
    }
  }
}
