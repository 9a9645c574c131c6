// STAND-IN data: field lists of the configuration APIs the kubeadm and kubelet stand-ins decode
// strictly. Sources (kubernetes/kubernetes, read 2026-11-23):
//   kubeadm.k8s.io/v1beta3: cmd/kubeadm/app/apis/kubeadm/v1beta3/types.go
//   kubeadm.k8s.io/v1beta4: cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go as released in 1.31, plus
//     the later additions visible in cmd/kubeadm/app/apis/kubeadm/v1/types.go (the v1 placeholder is
//     a copy of v1beta4): ExternalEtcd.httpEndpoints, NodeRegistration.imagePullSerial,
//     Timeouts.upgradeManifests. This stand-in accepts the newest v1beta4 field set for every version.
//   bootstrap tokens: cmd/kubeadm/app/apis/bootstraptoken/v1/types.go
//   kubelet.config.k8s.io/v1beta1 KubeletConfiguration: staging/src/k8s.io/kubelet/config/v1beta1/types.go
//   kubeproxy.config.k8s.io/v1alpha1 KubeProxyConfiguration: staging/src/k8s.io/kube-proxy/config/v1alpha1/types.go
// Version rules (kubeadm's own, see README.md): v1beta3 from 1.22, deprecated from 1.31 (a warning),
// removed in 1.36 (kubernetes PR #136016); v1beta4 from 1.31 (kubernetes PR #125029).
import {obj, type Schema} from '../schema.js'

const typeMeta = {apiVersion: 'string', kind: 'string'} as const satisfies Record<string, Schema>
const taint: Schema = {k8s: 'V1Taint'}
const envVar: Schema = {k8s: 'V1EnvVar'}
const strings: Schema = {array: 'string'}

export const bootstrapToken = obj(
  {token: 'string', description: 'string', ttl: 'duration', expires: 'time', usages: strings, groups: strings},
  'v1.BootstrapToken',
  ['token'],
)

const apiEndpoint = obj({advertiseAddress: 'string', bindPort: 'int32'}, 'APIEndpoint')
const imageMeta = {imageRepository: 'string', imageTag: 'string'} as const satisfies Record<string, Schema>
const hostPathMount = obj(
  {name: 'string', hostPath: 'string', mountPath: 'string', readOnly: 'bool', pathType: 'string'},
  'HostPathMount',
)
const patches = obj({directory: 'string'}, 'Patches')
const networking = obj({serviceSubnet: 'string', podSubnet: 'string', dnsDomain: 'string'}, 'Networking')
const bootstrapTokenDiscovery = obj(
  {token: 'string', apiServerEndpoint: 'string', caCertHashes: strings, unsafeSkipCAVerification: 'bool'},
  'BootstrapTokenDiscovery',
)
const fileDiscovery = obj({kubeConfigPath: 'string'}, 'FileDiscovery')

// ----------------------------------------------------------------------------- v1beta3
const argMap: Schema = {map: 'string'}
const v1beta3Component = {extraArgs: argMap, extraVolumes: {array: hostPathMount}} as const satisfies Record<string, Schema>
const v1beta3NodeReg = obj(
  {
    name: 'string',
    criSocket: 'string',
    taints: {array: taint},
    kubeletExtraArgs: argMap,
    ignorePreflightErrors: strings,
    imagePullPolicy: 'string',
  },
  'NodeRegistrationOptions',
)
const v1beta3Etcd = obj(
  {
    local: obj(
      {...imageMeta, dataDir: 'string', extraArgs: argMap, serverCertSANs: strings, peerCertSANs: strings},
      'LocalEtcd',
    ),
    external: obj({endpoints: strings, caFile: 'string', certFile: 'string', keyFile: 'string'}, 'ExternalEtcd'),
  },
  'Etcd',
)

export const v1beta3: Record<string, Schema> = {
  InitConfiguration: obj(
    {
      ...typeMeta,
      bootstrapTokens: {array: bootstrapToken},
      nodeRegistration: v1beta3NodeReg,
      localAPIEndpoint: apiEndpoint,
      certificateKey: 'string',
      skipPhases: strings,
      patches,
    },
    'InitConfiguration',
  ),
  ClusterConfiguration: obj(
    {
      ...typeMeta,
      etcd: v1beta3Etcd,
      networking,
      kubernetesVersion: 'string',
      controlPlaneEndpoint: 'string',
      apiServer: obj(
        {...v1beta3Component, certSANs: strings, timeoutForControlPlane: 'duration'},
        'APIServer',
      ),
      controllerManager: obj({...v1beta3Component}, 'ControlPlaneComponent'),
      scheduler: obj({...v1beta3Component}, 'ControlPlaneComponent'),
      dns: obj({...imageMeta}, 'DNS'),
      certificatesDir: 'string',
      imageRepository: 'string',
      featureGates: {map: 'bool'},
      clusterName: 'string',
    },
    'ClusterConfiguration',
  ),
  JoinConfiguration: obj(
    {
      ...typeMeta,
      nodeRegistration: v1beta3NodeReg,
      caCertPath: 'string',
      discovery: obj(
        {bootstrapToken: bootstrapTokenDiscovery, file: fileDiscovery, tlsBootstrapToken: 'string', timeout: 'duration'},
        'Discovery',
      ),
      controlPlane: obj({localAPIEndpoint: apiEndpoint, certificateKey: 'string'}, 'JoinControlPlane'),
      skipPhases: strings,
      patches,
    },
    'JoinConfiguration',
  ),
}

// ----------------------------------------------------------------------------- v1beta4
const argList: Schema = {array: obj({name: 'string', value: 'string', mergeMethod: 'string'}, 'Arg')}
const v1beta4Component = {
  extraArgs: argList,
  extraVolumes: {array: hostPathMount},
  extraEnvs: {array: envVar},
} as const satisfies Record<string, Schema>
const v1beta4NodeReg = obj(
  {
    name: 'string',
    criSocket: 'string',
    taints: {array: taint},
    kubeletExtraArgs: argList,
    ignorePreflightErrors: strings,
    imagePullPolicy: 'string',
    imagePullSerial: 'bool',
  },
  'NodeRegistrationOptions',
)
const timeouts = obj(
  {
    controlPlaneComponentHealthCheck: 'duration',
    kubeletHealthCheck: 'duration',
    kubernetesAPICall: 'duration',
    etcdAPICall: 'duration',
    tlsBootstrap: 'duration',
    discovery: 'duration',
    upgradeManifests: 'duration',
  },
  'Timeouts',
)
const v1beta4Etcd = obj(
  {
    local: obj(
      {
        ...imageMeta,
        dataDir: 'string',
        extraArgs: argList,
        extraEnvs: {array: envVar},
        serverCertSANs: strings,
        peerCertSANs: strings,
      },
      'LocalEtcd',
    ),
    external: obj(
      {endpoints: strings, httpEndpoints: strings, caFile: 'string', certFile: 'string', keyFile: 'string'},
      'ExternalEtcd',
    ),
  },
  'Etcd',
)
const upgradeCommon = {
  dryRun: 'bool',
  ignorePreflightErrors: strings,
  skipPhases: strings,
  patches,
  imagePullPolicy: 'string',
  imagePullSerial: 'bool',
  certificateRenewal: 'bool',
  etcdUpgrade: 'bool',
} as const satisfies Record<string, Schema>

export const v1beta4: Record<string, Schema> = {
  InitConfiguration: obj(
    {
      ...typeMeta,
      bootstrapTokens: {array: bootstrapToken},
      dryRun: 'bool',
      nodeRegistration: v1beta4NodeReg,
      localAPIEndpoint: apiEndpoint,
      certificateKey: 'string',
      skipPhases: strings,
      patches,
      timeouts,
    },
    'InitConfiguration',
  ),
  ClusterConfiguration: obj(
    {
      ...typeMeta,
      etcd: v1beta4Etcd,
      networking,
      kubernetesVersion: 'string',
      controlPlaneEndpoint: 'string',
      apiServer: obj({...v1beta4Component, certSANs: strings}, 'APIServer'),
      controllerManager: obj({...v1beta4Component}, 'ControlPlaneComponent'),
      scheduler: obj({...v1beta4Component}, 'ControlPlaneComponent'),
      dns: obj({...imageMeta, disabled: 'bool'}, 'DNS'),
      proxy: obj({disabled: 'bool'}, 'Proxy'),
      certificatesDir: 'string',
      imageRepository: 'string',
      featureGates: {map: 'bool'},
      clusterName: 'string',
      encryptionAlgorithm: 'string',
      certificateValidityPeriod: 'duration',
      caCertificateValidityPeriod: 'duration',
    },
    'ClusterConfiguration',
  ),
  JoinConfiguration: obj(
    {
      ...typeMeta,
      dryRun: 'bool',
      nodeRegistration: v1beta4NodeReg,
      caCertPath: 'string',
      discovery: obj({bootstrapToken: bootstrapTokenDiscovery, file: fileDiscovery, tlsBootstrapToken: 'string'}, 'Discovery'),
      controlPlane: obj({localAPIEndpoint: apiEndpoint, certificateKey: 'string'}, 'JoinControlPlane'),
      skipPhases: strings,
      patches,
      timeouts,
    },
    'JoinConfiguration',
  ),
  ResetConfiguration: obj(
    {
      ...typeMeta,
      cleanupTmpDir: 'bool',
      certificatesDir: 'string',
      criSocket: 'string',
      dryRun: 'bool',
      force: 'bool',
      ignorePreflightErrors: strings,
      skipPhases: strings,
      unmountFlags: strings,
      timeouts,
    },
    'ResetConfiguration',
  ),
  UpgradeConfiguration: obj(
    {
      ...typeMeta,
      apply: obj(
        {
          ...upgradeCommon,
          kubernetesVersion: 'string',
          allowExperimentalUpgrades: 'bool',
          allowRCUpgrades: 'bool',
          forceUpgrade: 'bool',
          printConfig: 'bool',
        },
        'UpgradeApplyConfiguration',
      ),
      node: obj({...upgradeCommon}, 'UpgradeNodeConfiguration'),
      plan: obj(
        {
          kubernetesVersion: 'string',
          allowExperimentalUpgrades: 'bool',
          allowRCUpgrades: 'bool',
          dryRun: 'bool',
          ignorePreflightErrors: strings,
          printConfig: 'bool',
        },
        'UpgradePlanConfiguration',
      ),
      diff: obj({kubernetesVersion: 'string', contextLines: 'int32'}, 'UpgradeDiffConfiguration'),
      timeouts,
    },
    'UpgradeConfiguration',
  ),
}

// ----------------------------------------------------------------------------- kubelet
const qtyMap: Schema = {map: 'string'}
const logging = obj(
  {
    format: 'string',
    flushFrequency: 'any',
    verbosity: 'int32',
    vmodule: {array: obj({filePattern: 'string', verbosity: 'int32'}, 'VModuleItem')},
    options: obj(
      {
        text: obj({splitStream: 'bool', infoBufferSize: 'quantity'}, 'TextOptions'),
        json: obj({splitStream: 'bool', infoBufferSize: 'quantity'}, 'JSONOptions'),
      },
      'FormatOptions',
    ),
  },
  'LoggingConfiguration',
)

export const kubeletConfiguration: Schema = obj(
  {
    ...typeMeta,
    enableServer: 'bool',
    staticPodPath: 'string',
    podLogsDir: 'string',
    syncFrequency: 'duration',
    fileCheckFrequency: 'duration',
    httpCheckFrequency: 'duration',
    staticPodURL: 'string',
    staticPodURLHeader: {map: strings},
    address: 'string',
    port: 'int32',
    readOnlyPort: 'int32',
    tlsCertFile: 'string',
    tlsPrivateKeyFile: 'string',
    tlsCipherSuites: strings,
    tlsMinVersion: 'string',
    rotateCertificates: 'bool',
    serverTLSBootstrap: 'bool',
    authentication: obj(
      {
        x509: obj({clientCAFile: 'string'}, 'KubeletX509Authentication'),
        webhook: obj({enabled: 'bool', cacheTTL: 'duration'}, 'KubeletWebhookAuthentication'),
        anonymous: obj({enabled: 'bool'}, 'KubeletAnonymousAuthentication'),
      },
      'KubeletAuthentication',
    ),
    authorization: obj(
      {
        mode: 'string',
        webhook: obj({cacheAuthorizedTTL: 'duration', cacheUnauthorizedTTL: 'duration'}, 'KubeletWebhookAuthorization'),
      },
      'KubeletAuthorization',
    ),
    registryPullQPS: 'int32',
    registryBurst: 'int32',
    imagePullCredentialsVerificationPolicy: 'string',
    preloadedImagesVerificationAllowlist: strings,
    eventRecordQPS: 'int32',
    eventBurst: 'int32',
    enableDebuggingHandlers: 'bool',
    enableContentionProfiling: 'bool',
    healthzPort: 'int32',
    healthzBindAddress: 'string',
    oomScoreAdj: 'int32',
    clusterDomain: 'string',
    clusterDNS: strings,
    streamingConnectionIdleTimeout: 'duration',
    nodeStatusUpdateFrequency: 'duration',
    nodeStatusReportFrequency: 'duration',
    nodeLeaseDurationSeconds: 'int32',
    imageMinimumGCAge: 'duration',
    imageMaximumGCAge: 'duration',
    imageGCHighThresholdPercent: 'int32',
    imageGCLowThresholdPercent: 'int32',
    volumeStatsAggPeriod: 'duration',
    kubeletCgroups: 'string',
    systemCgroups: 'string',
    cgroupRoot: 'string',
    cgroupsPerQOS: 'bool',
    cgroupDriver: 'string',
    cpuManagerPolicy: 'string',
    singleProcessOOMKill: 'bool',
    cpuManagerPolicyOptions: {map: 'string'},
    cpuManagerReconcilePeriod: 'duration',
    memoryManagerPolicy: 'string',
    topologyManagerPolicy: 'string',
    topologyManagerScope: 'string',
    topologyManagerPolicyOptions: {map: 'string'},
    qosReserved: {map: 'string'},
    runtimeRequestTimeout: 'duration',
    hairpinMode: 'string',
    maxPods: 'int32',
    podCIDR: 'string',
    podPidsLimit: 'int64',
    resolvConf: 'string',
    runOnce: 'bool',
    cpuCFSQuota: 'bool',
    cpuCFSQuotaPeriod: 'duration',
    nodeStatusMaxImages: 'int32',
    maxOpenFiles: 'int64',
    contentType: 'string',
    kubeAPIQPS: 'int32',
    kubeAPIBurst: 'int32',
    serializeImagePulls: 'bool',
    maxParallelImagePulls: 'int32',
    evictionHard: {map: 'string'},
    evictionSoft: {map: 'string'},
    evictionSoftGracePeriod: {map: 'string'},
    evictionPressureTransitionPeriod: 'duration',
    evictionMaxPodGracePeriod: 'int32',
    evictionMinimumReclaim: {map: 'string'},
    mergeDefaultEvictionSettings: 'bool',
    podsPerCore: 'int32',
    enableControllerAttachDetach: 'bool',
    protectKernelDefaults: 'bool',
    makeIPTablesUtilChains: 'bool',
    iptablesMasqueradeBit: 'int32',
    iptablesDropBit: 'int32',
    featureGates: {map: 'bool'},
    failSwapOn: 'bool',
    memorySwap: obj({swapBehavior: 'string'}, 'MemorySwapConfiguration'),
    containerLogMaxSize: 'string',
    containerLogMaxFiles: 'int32',
    containerLogMaxWorkers: 'int32',
    containerLogMonitorInterval: 'duration',
    configMapAndSecretChangeDetectionStrategy: 'string',
    systemReserved: qtyMap,
    kubeReserved: qtyMap,
    reservedSystemCPUs: 'string',
    showHiddenMetricsForVersion: 'string',
    systemReservedCgroup: 'string',
    kubeReservedCgroup: 'string',
    enforceNodeAllocatable: strings,
    allowedUnsafeSysctls: strings,
    volumePluginDir: 'string',
    providerID: 'string',
    kernelMemcgNotification: 'bool',
    logging,
    enableSystemLogHandler: 'bool',
    enableSystemLogQuery: 'bool',
    shutdownGracePeriod: 'duration',
    shutdownGracePeriodCriticalPods: 'duration',
    shutdownGracePeriodByPodPriority: {
      array: obj({priority: 'int32', shutdownGracePeriodSeconds: 'int64'}, 'ShutdownGracePeriodByPodPriority'),
    },
    crashLoopBackOff: obj({maxContainerRestartPeriod: 'duration'}, 'CrashLoopBackOffConfig'),
    reservedMemory: {array: obj({numaNode: 'int32', limits: {map: 'quantity'}}, 'MemoryReservation')},
    enableProfilingHandler: 'bool',
    enableDebugFlagsHandler: 'bool',
    seccompDefault: 'bool',
    memoryThrottlingFactor: 'float',
    registerWithTaints: {array: taint},
    registerNode: 'bool',
    tracing: obj({endpoint: 'string', samplingRatePerMillion: 'int32'}, 'TracingConfiguration'),
    localStorageCapacityIsolation: 'bool',
    containerRuntimeEndpoint: 'string',
    imageServiceEndpoint: 'string',
    failCgroupV1: 'bool',
    userNamespaces: obj({idsPerPod: 'int64'}, 'UserNamespaces'),
  },
  'KubeletConfiguration',
)

// ----------------------------------------------------------------------------- kube-proxy
const syncPeriods = {syncPeriod: 'duration', minSyncPeriod: 'duration'} as const satisfies Record<string, Schema>
export const kubeProxyConfiguration: Schema = obj(
  {
    ...typeMeta,
    featureGates: {map: 'bool'},
    clientConnection: obj(
      {kubeconfig: 'string', acceptContentTypes: 'string', contentType: 'string', qps: 'float', burst: 'int32'},
      'ClientConnectionConfiguration',
    ),
    logging,
    hostnameOverride: 'string',
    bindAddress: 'string',
    healthzBindAddress: 'string',
    metricsBindAddress: 'string',
    bindAddressHardFail: 'bool',
    enableProfiling: 'bool',
    showHiddenMetricsForVersion: 'string',
    mode: 'string',
    iptables: obj(
      {masqueradeBit: 'int32', masqueradeAll: 'bool', localhostNodePorts: 'bool', ...syncPeriods},
      'KubeProxyIPTablesConfiguration',
    ),
    ipvs: obj(
      {
        ...syncPeriods,
        scheduler: 'string',
        excludeCIDRs: strings,
        strictARP: 'bool',
        tcpTimeout: 'duration',
        tcpFinTimeout: 'duration',
        udpTimeout: 'duration',
      },
      'KubeProxyIPVSConfiguration',
    ),
    nftables: obj({masqueradeBit: 'int32', masqueradeAll: 'bool', ...syncPeriods}, 'KubeProxyNFTablesConfiguration'),
    winkernel: 'any',
    detectLocalMode: 'string',
    detectLocal: obj({bridgeInterface: 'string', interfaceNamePrefix: 'string'}, 'DetectLocalConfiguration'),
    clusterCIDR: 'string',
    nodePortAddresses: strings,
    oomScoreAdj: 'int32',
    conntrack: obj(
      {
        maxPerCore: 'int32',
        min: 'int32',
        tcpEstablishedTimeout: 'duration',
        tcpCloseWaitTimeout: 'duration',
        tcpBeLiberal: 'bool',
        udpTimeout: 'duration',
        udpStreamTimeout: 'duration',
      },
      'KubeProxyConntrackConfiguration',
    ),
    configSyncPeriod: 'duration',
    portRange: 'string',
    windowsRunAsService: 'bool',
  },
  'KubeProxyConfiguration',
)

/** kubeadm API versions and the Kubernetes minors that accept them (inclusive; undefined = still accepted). */
export const KUBEADM_API_VERSIONS: Record<string, {from: number; deprecatedFrom?: number; removedIn?: number}> = {
  'kubeadm.k8s.io/v1beta3': {from: 22, deprecatedFrom: 31, removedIn: 36},
  'kubeadm.k8s.io/v1beta4': {from: 31},
}
