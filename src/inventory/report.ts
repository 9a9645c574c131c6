/**
 * The discovery agent's report as it arrives over HTTP, and the sink the PXE service posts it to.
 * The wire format extends the inventory's ReportInput (src/inventory/hardware.ts) with what only
 * the agent knows (boot mode, CPU virtualization flags, agent version); the store ignores the rest.
 */
import {z} from 'zod'
import {MAX_REPORT_BYTES, ReportInput} from './hardware.js'
import type {ReportMeta} from './store.js'

export {MAX_REPORT_BYTES}

const optStr = (max = 256) => z.string().max(max).nullish().transform((v) => v ?? undefined)
const count = z.number().int().min(0).max(1_000_000)

export const DiscoveryReport = ReportInput.extend({
  cpu: z
    .object({
      model: optStr(),
      sockets: count.optional(),
      cores: count.optional(),
      threads: count.optional(),
      /** CPU flags for hardware virtualization found in /proc/cpuinfo: vmx (Intel VT-x), svm (AMD-V). */
      virtualization: z.array(z.enum(['vmx', 'svm'])).max(2).optional(),
    })
    .partial()
    .default({}),
  /** How the machine booted the discovery image. */
  bootMode: z.enum(['bios', 'uefi']).optional(),
  agent: z.object({version: optStr(32), policy: optStr(16)}).partial().optional(),
})
export type DiscoveryReport = z.infer<typeof DiscoveryReport>

/** Where `pxe serve` puts the reports it receives. The inventory store (src/inventory/store.ts) is one. */
export interface ReportSink {
  record(report: DiscoveryReport, meta?: ReportMeta): Promise<{id: string; created: boolean}>
}
