/**
 * Names of a few well-known data-centre accelerators by PCI vendor:device id.
 * Source: the public PCI ID database (pci.ids, https://pci-ids.ucw.cz/, shipped by Debian as
 * /usr/share/misc/pci.ids in package pci.ids). Names are the bracketed marketing names there.
 * Kept small on purpose: unknown ids are reported as "vendor:device", never guessed.
 */
export const PCI_VENDOR_NAMES: Readonly<Record<string, string>> = {
  '10de': 'nvidia',
  '1002': 'amd',
  '8086': 'intel',
  '1da3': 'habana',
}

export const ACCELERATOR_NAMES: Readonly<Record<string, string>> = {
  // NVIDIA (vendor 10de)
  '10de:2330': 'H100 SXM5 80GB',
  '10de:2331': 'H100 PCIe',
  '10de:2324': 'H800',
  '10de:20b0': 'A100 SXM4 40GB',
  '10de:20b2': 'A100 SXM4 80GB',
  '10de:20b5': 'A100 PCIe 80GB',
  '10de:20f1': 'A100 PCIe 40GB',
  '10de:26b9': 'L40S',
  '10de:26b5': 'L40',
  '10de:27b8': 'L4',
  '10de:1eb8': 'Tesla T4',
  '10de:2236': 'A10',
  '10de:2230': 'RTX A6000',
  '10de:1db4': 'Tesla V100 PCIe 16GB',
  '10de:1db5': 'Tesla V100 SXM2 32GB',
  // AMD (vendor 1002)
  '1002:74a1': 'Instinct MI300X',
  '1002:740c': 'Instinct MI250X/MI250',
  '1002:740f': 'Instinct MI210',
}

function hex4(v: string): string {
  return v.trim().toLowerCase().replace(/^0x/, '').padStart(4, '0')
}

/** "A100 PCIe 80GB" for ("0x10de", "0x20b5"); undefined when not in the table. */
export function acceleratorName(vendor: string, device: string): string | undefined {
  return ACCELERATOR_NAMES[`${hex4(vendor)}:${hex4(device)}`]
}

/**
 * Whether a PCI function is an accelerator: a display controller (class 03xx) of NVIDIA or AMD,
 * or a processing accelerator (class 12xx) of a known vendor. A BMC's VGA (ASPEED 1a03, Matrox
 * 102b) is class 0300 too and is not one.
 */
export function isAccelerator(vendor: string, pciClass: string): boolean {
  const v = hex4(vendor)
  const cls = hex4(pciClass).slice(0, 2)
  return (cls === '03' && (v === '10de' || v === '1002')) || (cls === '12' && v in PCI_VENDOR_NAMES)
}
