// PLACEHOLDER: being written by a helper; replaced wholesale. Claims nothing, so the registry never runs it.
import type { Detector } from './types.js';

export const pkcs12Detector: Detector = {
  format: 'pkcs12',
  description: 'placeholder',
  claims: {},
  detect: () => [],
};
