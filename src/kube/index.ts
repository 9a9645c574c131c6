export * from './objects.js'
export * from './kubectl.js'
