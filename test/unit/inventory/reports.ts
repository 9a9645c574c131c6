/** Discovery reports shaped like the agent's output, for inventory tests. */
export interface ReportOpts {
  uuid?: string
  serial?: string
  macs?: string[]
  memoryGiB?: number
  nvme?: {model: string; serial: string; sizeGiB: number}[]
  sata?: {model: string; serial: string; sizeGiB: number}[]
  gpu?: boolean
  ip?: string
  bmcIp?: string
}

export function makeReport(o: ReportOpts = {}): Record<string, unknown> {
  const macs = o.macs ?? ['52:54:00:12:34:56']
  const nvme = o.nvme ?? [{model: 'Samsung SSD 980 PRO 1TB', serial: 'S5GXNF0R123456', sizeGiB: 931}]
  const sata = o.sata ?? []
  return {
    dmi: {vendor: 'Supermicro', product: 'SYS-1029U', serial: o.serial ?? 'SM123456789', uuid: o.uuid ?? '4a1c2d3e-5f60-4718-9a2b-3c4d5e6f7081'},
    hostname: 'discovery',
    ip: o.ip,
    cpu: {model: 'Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz', sockets: 2, cores: 40, threads: 80},
    memory: {totalBytes: (o.memoryGiB ?? 128) * 2 ** 30},
    nics: macs.map((mac, i) => ({name: `eno${i + 1}`, mac, driver: 'ixgbe', speedMbps: 10000, link: i === 0, ipv4: i === 0 && o.ip ? [`${o.ip}/24`] : []})),
    disks: [
      ...nvme.map((d, i) => ({name: `nvme${i}n1`, type: 'nvme', sizeBytes: d.sizeGiB * 2 ** 30, model: d.model, serial: d.serial, eui: undefined, wwn: undefined, rotational: false})),
      ...sata.map((d, i) => ({name: `sd${String.fromCharCode(97 + i)}`, type: 'sata', sizeBytes: d.sizeGiB * 2 ** 30, model: d.model, serial: d.serial, rotational: false})),
    ],
    pci: [
      {address: '0000:00:00.0', vendor: '8086', device: '2020', class: '0600'},
      ...(o.gpu ? [{address: '0000:3b:00.0', vendor: '10de', device: '20b5', class: '0302', deviceName: 'A100 PCIe 80GB'}] : []),
    ],
    accelerators: [],
    bmc: o.bmcIp ? {ip: o.bmcIp} : undefined,
  }
}
