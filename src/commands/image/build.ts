import {Flags} from '@oclif/core'
import {BaseCommand} from '../../base/command.js'
import {buildImage, type BootImage} from '../../image/build.js'

export default class ImageBuild extends BaseCommand<typeof ImageBuild> {
  static override summary = 'Build the discovery boot image (kernel + initramfs) from Debian packages.'
  static override description =
    'Downloads the Debian cloud kernel package (apt-get download), unpacks it without root, and packs a busybox-static initramfs with the NIC ' +
    'and disk drivers it has plus the discovery agent. Cached by the hash of its inputs; a second run is instant.'
  static override examples = ['<%= config.bin %> image build', '<%= config.bin %> image build --kernel-package linux-image-6.1.0-56-cloud-amd64-unsigned --json']
  static override flags = {
    'kernel-package': Flags.string({summary: 'Debian kernel package (default: the one linux-image-cloud-amd64 depends on, -unsigned).'}),
    kernel: Flags.string({summary: 'Use your own kernel (with --initrd); nothing is built.'}),
    initrd: Flags.string({summary: 'Use your own initramfs (with --kernel).'}),
    force: Flags.boolean({default: false, summary: 'Rebuild even when cached.'}),
  }

  async run(): Promise<BootImage> {
    const img = await buildImage({kernelPackage: this.flags['kernel-package'], kernel: this.flags.kernel, initrd: this.flags.initrd, force: this.flags.force, log: (m) => this.log_.info(m)})
    if (!this.jsonEnabled()) {
      this.log(`kernel: ${img.kernel}`)
      this.log(`initrd: ${img.initrd} (${(img.initrdBytes / 2 ** 20).toFixed(1)} MiB${img.cached ? ', cached' : ''})`)
      if (img.modules.length) this.log(`modules: ${img.modules.join(' ')}`)
      if (img.missingModules.length) this.log(`not in this kernel: ${img.missingModules.join(' ')}`)
    }
    return img
  }
}
